# The course's "Echo server using Thread", in Python 3. Source:
# network-programming-notes.txt. Edits (nothing else changed):
#   - Python 2 -> 3: print statements made print() calls;
#     "except socket.error,(value,message):" made
#     "except socket.error as e:" with (value,message) = e.args, which is
#     what Python 2's tuple in the except clause did.
#   - bytes vs str: recv's bytes compared with b'q' / b'Q' and decoded where
#     printed (the echo sends back the bytes that came).
#   - port: int(sys.argv[1]) instead of 5300; the banner still says 5200
#     (sic).
#   - address: '127.0.0.1' instead of 'localhost'.
# Kept as the course has it: one recv(2096) taken as one message; an empty
# recv (end of file) is not noticed: the thread prints "send:" and sends
# nothing, again and again, without end; "daemon=True" sets a local
# variable, not the thread's daemon flag; threading.currentThread() and
# getName() (Python 3.10 warns that they are deprecated, on stderr).
# Run: python3 -u thread-echoserver.py PORT
#!/usr/bin/python

#Simple Echo server using thread to handle multiple connections at a time.

import threading, socket,sys

#The function handlechild handles each client.

def handlechild(clientsock):
    print("New child", threading.currentThread().getName())
    print("Got the connection from", clientsock.getpeername())
    while 1:
        data=clientsock.recv(2096)
        if data==b'q' or data==b'Q':
            print("The client", clientsock.getpeername()," quits")
            clientsock.close()
            break
        print(clientsock.getpeername() ,"send: ", data.decode())
        clientsock.send(data)

try:

    s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)
    s.bind(('127.0.0.1',int(sys.argv[1])))
    s.listen(5)
    print("Waiting for connection on port 5200:")

except socket.error as e:
    (value,message) = e.args
    if s:
        s.close()
    print("Couldn't open the socket",message)
    sys.exit(1)

while 1:
    clientsocket,clientaddress=s.accept()
    t=threading.Thread(target=handlechild,args=[clientsocket])
    daemon=True
    t.start()
