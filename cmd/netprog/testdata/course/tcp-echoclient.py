# The course's tcp-echoclient.py ("TCP Echo Server and Client"), in Python 3.
# Source: network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: raw_input() made input(), print statement made print().
#   - bytes vs str: what is typed is encoded before it is sent; what recv
#     returned is decoded before it is printed.
#   - port: int(sys.argv[1]) instead of 5090.
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: each line sent without a newline, one
# recv(512) taken as the whole reply; end of input is an EOFError.
# Run: python3 -u tcp-echoclient.py PORT
#simple tcp echo client
#!/usr/bin/python
import socket,sys
c=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
c.connect(('127.0.0.1', int(sys.argv[1])))
while True:
    data=input("Enter data to send to server: press q or Q to quit:\n")
    c.send(data.encode())
    if data=='q' or data=='Q':
        c.close()
        break
    print(c.recv(512).decode())
