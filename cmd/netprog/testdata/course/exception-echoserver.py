# The course's echo server of "Catching Exceptions", in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - typo: the broken string literal host = " (a syntax error in any
#     Python) made the address below.
#   - Python 2 -> 3: print statements made print() calls;
#     "except socket.error, (value,message):" made
#     "except socket.error as e:" with (value,message) = e.args, which is
#     what Python 2's tuple in the except clause did.
#   - bytes vs str: recv's bytes compared with b'q' / b'Q'; "You Send:" made
#     b"You Send:" so the reply is bytes; data decoded where it is printed.
#   - port: int(sys.argv[1]) instead of 50000; the banner still says 50000.
#   - address: '127.0.0.1' instead of the empty (every address) host.
# Kept as the course has it: one recv(1024) taken as one message; an empty
# recv (end of file) is not noticed, as in tcp-echoserver.py.
# Run: python3 -u exception-echoserver.py PORT
#!/usr/bin/env python
"""
A simple echo server that handles exceptions
"""
import socket,sys
host = '127.0.0.1'
port = int(sys.argv[1])
backlog = 5
size = 1024
s = None
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host,port))
    s.listen(backlog)
    print("The server is listening on port: 50000")
except socket.error as e:
    (value,message) = e.args
    if s:
        s.close()
    print("Could not open socket: " + message)
    sys.exit(1)
while True:
    client, address = s.accept()
    print("Received the connection from:", address)
    while True:
        data=client.recv(size)
        if data==b'q' or data==b'Q':
            client.close()
            print("Client quits:")
            break
        else:
            print("Data received:", data.decode())
            newdata=b"You Send:" + data
            client.send(newdata)
