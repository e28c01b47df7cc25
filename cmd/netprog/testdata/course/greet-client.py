# The course's "Simple TCP Server and Client": the client written instead of
# telnet, in Python 3. Source: network-programming-notes.txt. Edits (nothing
# else changed):
#   - Python 2 -> 3: the print statement made a print() call.
#   - bytes vs str: what recv returned is decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 8090.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: one recv(512) taken as the whole greeting.
# Run: python3 -u greet-client.py PORT
#!/usr/bin/python
import socket
import sys
c=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
c.connect(('127.0.0.1', int(sys.argv[1])))
data=c.recv(512)
print("Received data:", data.decode())
