# The course's tcp-echoserver.py ("TCP Echo Server and Client"), in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: print statements made print() calls.
#   - bytes vs str: recv's bytes compared with b'q' / b'Q'; "You Send:" made
#     b"You Send:" so the reply is bytes; data decoded where it is printed.
#   - port: int(sys.argv[1]) instead of 5090; the banner still says 5090.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: one recv(512) taken as one message (so "q\n"
# is not a quit); an empty recv (end of file) is not noticed: the inner
# loop prints "Data received" and sends "You Send:" again and again, until
# a send fails (the client is gone: BrokenPipeError / ConnectionResetError
# ends the server) or forever (the client only half-closed).
# Run: python3 -u tcp-echoserver.py PORT
#!/usr/bin/python
#A simple echo Server, send back the same message the client sent back to it.

import socket, sys

#Creat the socket
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
s.bind(('127.0.0.1',int(sys.argv[1])))
s.listen(5)
print("Server is running on port 5090:")

while True:
    clientsocket,clientaddress=s.accept()
    print("Received the connection from:", clientaddress)
    while True:
        data=clientsocket.recv(512)
        if data==b'q' or data==b'Q':
            clientsocket.close()
            print("Client quits:")
            break
        else:
            print("Data received", data.decode())
            newdata=b"You Send:" +data
            clientsocket.send(newdata)
