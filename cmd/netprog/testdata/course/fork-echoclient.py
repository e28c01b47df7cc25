# The course's echo client for the forking server ("Managing Zombie
# processes: Echo Client"), in Python 3. Source:
# network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: raw_input() made input(), print statements made print().
#   - bytes vs str: what is typed is encoded before it is sent; the reply is
#     decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 50007 (hence "import sys").
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: each line sent without a newline, one
# recv(1024) taken as the whole reply; end of input is an EOFError.
# Run: python3 -u fork-echoclient.py PORT
import sys
#####
# Client side: use sockets to send data to the server, and print server's
# reply to each message line; 'localhost' means that the server is running
# on the same machine as the client, which lets us test client and server
# on one machine
#####

#!/usr/bin/python
import socket
clientsocket=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
clientsocket.connect(('127.0.0.1',int(sys.argv[1])))
print("Enter q or Q to quits:")
while 1:
    data=input('>')
    clientsocket.send(data.encode())
    if data=='q' or data=='Q':
        break
    newdata=clientsocket.recv(1024)
    print(newdata.decode())

clientsocket.close()
