# The course's "Simple TCP Server and Client": Server Program, in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: print statements made print() calls.
#   - bytes vs str: the greeting is encoded before it is sent.
#   - port: int(sys.argv[1]) instead of 8090 (hence "import sys"); the
#     banner still says 8090, as printed in the notes.
#   - address: '127.0.0.1' instead of 'localhost'.
# Run: python3 -u greet-server.py PORT
import sys
#!/usr/bin/python
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
s.bind(('127.0.0.1',int(sys.argv[1])))
s.listen(59)
print("The server is waiting for conneciton on port 8090")

while True:
    clientsocket,clientaddress=s.accept()
    print("Got the connection from", clientaddress)
    clientsocket.send("Thank you for Connecting \n".encode())
    clientsocket.close()
