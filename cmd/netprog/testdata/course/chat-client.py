# The course's "Simple command Peer to Peer Chat application": TCP client,
# in Python 3. Source: network-programming-notes.txt. Edits (nothing else
# changed):
#   - Python 2 -> 3: raw_input() made input(), print statements made
#     print(), "<>" made "!=".
#   - bytes vs str: what is typed is encoded before it is sent; recv's bytes
#     compared with b'q' / b'Q' and decoded where printed.
#   - port: int(sys.argv[1]) instead of 5000 (hence "import sys").
#   - address: '127.0.0.1' instead of "localhost".
# Kept as the course has it: lines sent without a newline, one recv(512)
# taken as one message (so "q\n" is not a quit); an empty recv (the server
# closed) is printed as "RECIEVED: " and the client asks for the next line.
# Run: python3 -u chat-client.py PORT
import sys

import socket
client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client_socket.connect(("127.0.0.1", int(sys.argv[1])))
while 1:
    data = client_socket.recv(512)
    if ( data == b'q' or data == b'Q'):
        print("I received", data.decode())
        client_socket.close()
        break;
    else:
        print("RECIEVED:" , data.decode())
        data = input ( "SEND( TYPE q or Q to Quit):" )
        if (data != 'Q' and data != 'q'):
            client_socket.send(data.encode())
        else:
            client_socket.send(data.encode())
            client_socket.close()
            break;
