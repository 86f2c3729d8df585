"""A Python client of ctk's agent protocol (docs/PROTOCOL.md), written from the
document alone so that it checks the document as much as the agent."""
import json
import select
import socket
import struct
import time

HEADER = struct.Struct("<BBHII")  # type, flags, reserved, channel, length
DATA, WINDOW, EOF, CLOSE = 0, 1, 2, 3
MAX_PAYLOAD = 64 * 1024
WINDOW_SIZE = 256 * 1024


class AgentError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Channel:
    def __init__(self, auto_credit):
        self.buf = bytearray()
        self.send_window = WINDOW_SIZE
        self.received = 0  # what the agent sent us in all
        self.eof = False
        self.closed = False  # the agent sent CLOSE: it reads no more
        self.auto_credit = auto_credit


class Client:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.timeout = timeout
        self.inbuf = bytearray()
        self.line = bytearray()
        self.replies = {}
        self.unsolicited = []  # error replies with a null id
        self.channels = {}
        self.next_id = 1
        self.next_channel = 1

    def close(self):
        self.sock.close()

    # Framing.
    def send_frame(self, ftype, ch, payload=b""):
        self.sock.sendall(HEADER.pack(ftype, 0, 0, ch, len(payload)) + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def pump(self, timeout):
        """Reads whatever arrives within timeout and handles its frames."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("agent closed the connection")
        self.inbuf += data
        while len(self.inbuf) >= HEADER.size:
            ftype, flags, reserved, ch, length = HEADER.unpack_from(self.inbuf)
            assert length <= MAX_PAYLOAD, f"frame of {length} bytes"
            assert flags == 0 and reserved == 0 and ftype <= CLOSE
            if len(self.inbuf) < HEADER.size + length:
                break
            payload = bytes(self.inbuf[HEADER.size:HEADER.size + length])
            del self.inbuf[:HEADER.size + length]
            self._frame(ftype, ch, payload)
        return True

    def _frame(self, ftype, ch, payload):
        if ch == 0:
            assert ftype == DATA
            self.line += payload
            while b"\n" in self.line:
                text, _, rest = bytes(self.line).partition(b"\n")
                self.line = bytearray(rest)
                msg = json.loads(text)
                if msg.get("id") is None:
                    self.unsolicited.append(msg)
                else:
                    self.replies[msg["id"]] = msg
            return
        c = self.channels.get(ch)
        if c is None:
            return
        if ftype == DATA:
            assert not c.eof, f"data after EOF on channel {ch}"
            c.received += len(payload)
            assert c.received - self._credited(c) <= WINDOW_SIZE, f"agent overran window on {ch}"
            c.buf += payload
            if c.auto_credit:
                self._credit(ch, len(payload))
        elif ftype == WINDOW:
            c.send_window += struct.unpack("<I", payload)[0]
        elif ftype == EOF:
            c.eof = True
        elif ftype == CLOSE:
            c.closed = True

    def _credited(self, c):
        return getattr(c, "granted", 0)

    def _credit(self, ch, n):
        c = self.channels[ch]
        c.granted = self._credited(c) + n
        self.send_frame(WINDOW, ch, struct.pack("<I", n))

    # Control.
    def request(self, op, **args):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "op": op}
        msg.update(args)
        self.send_frame(DATA, 0, (json.dumps(msg) + "\n").encode())
        return rid

    def result(self, rid, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while rid not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply to request {rid}")
            self.pump(left)
        msg = self.replies.pop(rid)
        if "error" in msg:
            raise AgentError(msg["error"]["code"], msg["error"]["message"])
        return msg["result"]

    def call(self, op, timeout=None, **args):
        return self.result(self.request(op, **args), timeout)

    def hello(self):
        return self.call("hello", version=1)

    # Channels.
    def open_channel(self, auto_credit=True):
        ch = self.next_channel
        self.next_channel += 1
        self.channels[ch] = Channel(auto_credit)
        return ch

    def write(self, ch, data):
        """Sends data within the channel's credit, waiting for window frames."""
        c = self.channels[ch]
        view = memoryview(data)
        while view:
            if c.closed:
                raise BrokenPipeError(f"channel {ch} closed by the agent")
            n = min(len(view), c.send_window, MAX_PAYLOAD)
            if n == 0:
                self.pump(self.timeout)
                continue
            self.send_frame(DATA, ch, bytes(view[:n]))
            c.send_window -= n
            view = view[n:]
            self.pump(0)

    def send_eof(self, ch):
        self.send_frame(EOF, ch)

    def read(self, ch, n=None):
        """Takes buffered data (all, or n bytes), granting the credit back."""
        c = self.channels[ch]
        n = len(c.buf) if n is None else min(n, len(c.buf))
        out = bytes(c.buf[:n])
        del c.buf[:n]
        if n and not c.auto_credit:
            self._credit(ch, n)
        return out

    def read_until_eof(self, ch, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        out = bytearray()
        c = self.channels[ch]
        while True:
            out += self.read(ch)
            if c.eof and not c.buf:
                return bytes(out)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no EOF on channel {ch}; got {bytes(out)[-200:]!r}")
            self.pump(left)

    def wait_for(self, predicate, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("condition not met")
            self.pump(min(left, 0.1))
