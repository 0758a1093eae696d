"""Runs a command on a pseudo-terminal and follows a script from stdin: a JSON list of
[pattern, reply] steps. Each step waits until the regular expression `pattern` appears in what
the terminal shows after the previous match, then types `reply` and Enter (a reply of null
types nothing; "\\u0003" alone is sent without Enter, as Ctrl-C). Prints everything the terminal
showed, then `EXIT <status>`; a pattern not seen within 20 s ends the run with `TIMEOUT <n>`."""
import json, os, pty, re, select, sys, time

steps = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])

seen = b""

def read_more(timeout):
    """Reads what the terminal shows for up to `timeout` seconds; False once it is closed."""
    global seen
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    seen += chunk
    return bool(chunk)

position = 0
for index, (pattern, reply) in enumerate(steps):
    deadline = time.time() + 20
    regex = re.compile(pattern.encode())
    while True:
        match = regex.search(seen, position)
        if match:
            position = match.end()
            break
        if time.time() > deadline or not read_more(0.1):
            sys.stdout.write(seen.decode("utf-8", "replace"))
            print("\nTIMEOUT %d %s" % (index, pattern))
            os.kill(pid, 9)
            sys.exit(1)
    if reply is None:
        continue
    os.write(fd, reply.encode() if reply == "\u0003" else reply.encode() + b"\r")

deadline = time.time() + 20
while time.time() < deadline and read_more(0.1):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode("utf-8", "replace"))
print("\nEXIT %d" % os.waitstatus_to_exitcode(status))
