# The course's udp-echoserver.py ("UDP echo server and Client"), in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: print statements made print() calls.
#   - bytes vs str: the datagram is decoded where it is printed (it is sent
#     back as the bytes that came).
#   - port: int(sys.argv[1]) instead of 5000 (hence "import sys"); the
#     banner still says 5000.
#   - address: '127.0.0.1' instead of 'localhost'.
# Run: python3 -u udp-echoserver.py PORT
import sys
#UDP echo Server
#!/usr/bin/python
import socket
server_socket=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
server_socket.bind(('127.0.0.1',int(sys.argv[1])))
print("UDP -Echo Server listening on port 5000:")
while True:
    data,address=server_socket.recvfrom(512)
    print(address, ":said", data.decode())
    server_socket.sendto(data,address)
