# The course's echo client of "Catching Exceptions", in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: raw_input() made input(), print statements made
#     print() calls; "except socket.error, (value,message):" made
#     "except socket.error as e:" with (value,message) = e.args.
#   - bytes vs str: what is typed is encoded before it is sent; the reply is
#     decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 50000.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: each line sent without a newline, one
# recv(1024) taken as the whole reply; end of input is an EOFError.
# Run: python3 -u exception-echoclient.py PORT
#!/usr/bin/env python
"""
A simple echo client that handles some exceptions
"""
import socket
import sys
host = '127.0.0.1'
port = int(sys.argv[1])
size = 1024
s = None
try:
    s=socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host,port))
except socket.error as e:
    (value,message) = e.args
    if s:
        s.close()
    print("Could not open socket: " + message)
    sys.exit(1)

while True:
    data=input("Type Something(q or Q to exit:)")
    s.send(data.encode())
    if data=='q' or data=='Q':
        s.close()
        break
    else:
        newdata=s.recv(size)
        print(newdata.decode())
