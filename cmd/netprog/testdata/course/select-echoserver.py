# The course's "Echo server using select", in Python 3. Source:
# network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: the print statements made print() calls.
#   - bytes vs str: what recv returned is decoded where it is printed (the
#     echo sends back the bytes that came).
#   - port: int(sys.argv[1]) instead of 50000.
#   - address: '127.0.0.1' instead of the empty (every address) host.
# Kept as the course has it: it prints nothing until a client connects;
# pure echo, q is not special; one recv(1024) per readable socket; a line
# on standard input stops it. (It does notice end of file: the empty recv
# closes that client.)
# Run: python3 -u select-echoserver.py PORT
#!/usr/bin/env python

"""
An echo server that uses select to handle multiple clients at a time.
Entering any line of input at the terminal will exit the server.
"""

import select
import socket
import sys

host = '127.0.0.1'
port = int(sys.argv[1])
backlog = 5
size = 1024
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind((host,port))
server.listen(backlog)
input = [server,sys.stdin]

running = 1
while running:
    inputready,outputready,exceptready = select.select(input,[],[])
    for s in inputready:
        if s == server:
            # handle the server socket
            client, address = server.accept()
            print("Got the connection from:", address)
            input.append(client)

        elif s == sys.stdin:
            # handle standard input
            junk = sys.stdin.readline()
            running = 0

        else:
            # handle all other sockets
            data = s.recv(size)
            print(data.decode())
            if data:
                s.send(data)
            else:
                s.close()
                input.remove(s)
server.close()
