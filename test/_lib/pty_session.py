"""Runs a command on a pseudo-terminal, types the JSON list of lines from stdin, each at a
fresh prompt, and prints everything the terminal showed, then `EXIT <status>`."""
import json, os, pty, select, sys, time

PROMPT = b"nymote> "
lines = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])

seen = b""

def read_until(done, timeout):
    """Reads the terminal until done() is true, the terminal closes, or time runs out."""
    global seen
    deadline = time.time() + timeout
    while not done() and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen += chunk

for index, line in enumerate(lines):
    read_until(lambda: seen.count(PROMPT) > index, 20)
    os.write(fd, line.encode() + b"\r")
read_until(lambda: False, 10)  # until the program closes the terminal
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
print("\nEXIT %d" % os.waitstatus_to_exitcode(status))
