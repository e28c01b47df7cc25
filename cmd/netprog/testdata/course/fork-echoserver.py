# The course's forking echo server ("Managing Zombie processes: Echo
# Server"), in Python 3. Source: network-programming-notes.txt. Edits
# (nothing else changed):
#   - typo: the broken string literal myHost = " (a syntax error in any
#     Python) made the address below; its comment is left as printed.
#   - Python 2 -> 3: print statements made print() calls.
#   - bytes vs str: recv's bytes compared with b'q' / b'Q'; "you send:" made
#     b"you send:" so the reply is bytes.
#   - port: int(sys.argv[1]) instead of 50007; the banner still says 50007.
#   - address: '127.0.0.1' instead of the empty (every address) host.
# Kept as the course has it: one recv(1024) taken as one message; a child
# does not notice end of file (it sends "you send:" until a send fails);
# children are reaped only when the next client connects.
# Run: python3 -u fork-echoserver.py PORT
#####
# Server side: open a socket on a port, listen for a message from a client,
# and send an echo reply; forks a process to handle each client connection;
# child processes share parent's socket descriptors; fork is less portable
# than threads--not yet on Windows, unless Cygwin or similar installed;
#####
#!/usr/bin/python
import os, time, sys
from socket import *      # get socket constructor and constants
myHost = '127.0.0.1'      # server machine, " means local host
myPort = int(sys.argv[1]) # listen on a non-reserved port number
sockobj = socket(AF_INET, SOCK_STREAM)    # make a TCP socket object
sockobj.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
sockobj.bind((myHost, myPort))    # bind it to server port number
print("The server is listening on port 50007")
sockobj.listen(5)          # allow 5 pending connects

activeChildren = []

def reapChildren():
    # reap any dead child processes
    while activeChildren:
        # else may fill up system table
        pid,stat = os.waitpid(0, os.WNOHANG)    # don't hang if no child exited
        if not pid:
            break
        else:
            activeChildren.remove(pid)
            print("Reaped Child Process:", pid)

def handleClient(connection):
    # child process: reply, exit
    while True:
        # read, write a client socket
        data = connection.recv(1024)          # till eof when socket closed
        if data==b'q' or data==b'Q':
            connection.close()
            break
        else:
            newdata=b"you send:" + data
            connection.send(newdata)
    os._exit(0)

def dispatcher():
    # listen until process killed
    while True:
        # wait for next connection,
        connection, address = sockobj.accept() # pass to process for service
        reapChildren()                        # clean up exited children now
        childPid = os.fork()                  # copy this process
        if childPid == 0:
            # if in child process: handle
            handleClient(connection)
        else:
            # else: go accept next connect
            activeChildren.append(childPid)    # add to active child pid list

dispatcher()                                # call the function dispatcher.
