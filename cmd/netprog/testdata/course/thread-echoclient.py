# The course's "Echo Client" for the threaded echo server, in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: raw_input() made input(), print statements made
#     print() calls; "except socket.error, (value,message):" made
#     "except socket.error as e:" with (value,message) = e.args.
#   - bytes vs str: what is typed is encoded before it is sent; the reply is
#     decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 5300.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: each line sent without a newline, one
# recv(1024) taken as the whole reply; end of input is an EOFError.
# Run: python3 -u thread-echoclient.py PORT

#!/usr/bin/python
import socket,sys

try:
    c=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
    c.connect(('127.0.0.1',int(sys.argv[1])))

except socket.error as e:
    (value,message) = e.args
    if c:
        c.close()
    print("Couldnot open the socket", message)
    sys.exit(1)

while True:
    data= input("Enter data to send:")
    if data=='q' or data=='Q':
        c.send(data.encode())
        break
    c.send(data.encode())
    print("Received data:", c.recv(1024).decode())
