# The course's udp-echoclient.py ("UDP echo server and Client"), in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: raw_input() made input(), print statement made print().
#   - bytes vs str: what is typed is encoded before it is sent; the reply is
#     decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 5000 (hence "import sys").
#   - address: '127.0.0.1' instead of "localhost".
# Kept as the course has it: no timeout (a lost datagram hangs the client);
# q is not sent, the client just closes.
# Run: python3 -u udp-echoclient.py PORT
import sys
#!/usr/bin/python
import socket
client_socket=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
while True:
    data=input("Type Something(q or Q to exit:)")
    if data=='q' or data=='Q':
        client_socket.close()
        break;
    else:
        client_socket.sendto(data.encode(),("127.0.0.1", int(sys.argv[1])))
        newdata=client_socket.recvfrom(512)
        print("Received:", newdata[0].decode())
