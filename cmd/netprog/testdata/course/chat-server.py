# The course's "Simple command Peer to Peer Chat application": TCP server,
# in Python 3. Source: network-programming-notes.txt. Edits (nothing else
# changed):
#   - layout: the notes split this program across two code blocks at a page
#     break, and the second block lost its indentation (as printed, the outer
#     "while 1:" would hold only the accept); it is indented back under the
#     accept.
#   - Python 2 -> 3: raw_input() made input(), print statements made print().
#   - bytes vs str: what is typed is encoded before it is sent; recv's bytes
#     compared with b'q' / b'Q' and decoded where printed.
#   - port: int(sys.argv[1]) instead of 5000 (hence "import sys"); the
#     banner still says 5000.
#   - address: '127.0.0.1' instead of the empty (every address) host.
# Kept as the course has it: lines sent without a newline, one recv(512)
# taken as one message; an empty recv (the client closed) is printed as
# "RECIEVED: " and the conversation goes on; a client's q ends the
# conversation silently.
# Run: python3 -u chat-server.py PORT
import sys
# TCP server
import socket
server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.bind(("127.0.0.1", int(sys.argv[1])))
server_socket.listen(5)

print("TCPServer Waiting for client on port 5000")

while 1:
    client_socket, address = server_socket.accept()
    print("I got a connection from ", address)
    while 1:
        data = input ( "SEND( TYPE q or Q to Quit):" )
        if (data == 'Q' or data == 'q'):
            client_socket.send (data.encode())
            client_socket.close()
            break;
        else:
            client_socket.send(data.encode())

        data = client_socket.recv(512)
        if ( data == b'q' or data == b'Q'):
            client_socket.close()
            break;
        else:
            print("RECIEVED:" , data.decode())
