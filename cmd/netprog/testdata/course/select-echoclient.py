# The course's "Echo client using select", in Python 3. Source:
# network-programming-notes.txt. Edits (nothing else changed):
#   - layout: the notes split this program across two code blocks at a page
#     break, and the loop's body lost its indentation (as printed, "while 1:"
#     has no body: an IndentationError in any Python); it is indented back,
#     up to the s.close() after the loop.
#   - bytes vs str: the line read is encoded before it is sent; the reply
#     is decoded before it is written.
#   - port: int(sys.argv[1]) instead of 50000.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: the quit test line == ' ' never matches
# (readline gives '\n' for a blank line and '' at end of input), so the
# client never ends by itself: at end of input it sends nothing and waits
# in recv for a reply that cannot come; one recv(1024) taken as the whole
# reply.
# Run: python3 -u select-echoclient.py PORT
#!/usr/bin/env python

"""
An echo client that allows the user to send multiple lines to the server.
Entering a blank line will exit the client.
"""

import socket
import sys

host = '127.0.0.1'
port = int(sys.argv[1])
size = 1024
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect((host,port))
sys.stdout.write('%')

while 1:
    # read from keyboard

    line = sys.stdin.readline()
    if line == ' ':
        break
    s.send(line.encode())
    data = s.recv(size)
    sys.stdout.write(data.decode())
    sys.stdout.write('%')
s.close()
