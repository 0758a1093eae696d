#!/usr/bin/python3
"""An independent mDNS client for test/interop/mdns.test.ts: python-zeroconf (Debian's
python3-zeroconf) resolving, browsing and listing service types, plus raw queries and a
sniffer built on zeroconf's own DNS codec. Every command prints one JSON object on stdout.

  mdns_client.py resolve-host IFADDR NAME TIMEOUT
  mdns_client.py browse IFADDR TYPE TIMEOUT
  mdns_client.py types IFADDR TIMEOUT
  mdns_client.py sniff IFADDR SECONDS            (every packet on 224.0.0.251:5353)
  mdns_client.py query IFADDR DEST SRCPORT TIMEOUT NAME TYPE [qu] [known:NAME:PTRTARGET:TTL]... [repeat:N:GAPMS]
  mdns_client.py send IFADDR DEST HEX...         (raw datagrams to DEST:5353)
  mdns_client.py squat IFADDR HOSTNAME ADDRESS   (hold HOSTNAME at ADDRESS and defend it;
                                                  runs until stdin ends)
"""
import json
import socket
import select
import struct
import sys
import time

from zeroconf import (
    DNSAddress,
    DNSIncoming,
    DNSOutgoing,
    DNSPointer,
    DNSQuestion,
    IPVersion,
    ServiceBrowser,
    ServiceListener,
    Zeroconf,
    ZeroconfServiceTypes,
)
from zeroconf.const import (
    _CLASS_IN,
    _CLASS_UNIQUE,
    _FLAGS_AA,
    _FLAGS_QR_QUERY,
    _FLAGS_QR_RESPONSE,
    _TYPE_A,
    _TYPE_ANY,
    _TYPE_PTR,
)

TYPES = {'A': 1, 'PTR': 12, 'TXT': 16, 'AAAA': 28, 'SRV': 33, 'ANY': 255}
GROUP = '224.0.0.251'


def zc_on(ifaddr):
    return Zeroconf(interfaces=[ifaddr], ip_version=IPVersion.V4Only)


def record_json(r):
    out = {'name': r.name, 'type': r.type, 'class': r.class_, 'unique': r.unique, 'ttl': r.ttl}
    if r.type in (1, 28):
        out['address'] = socket.inet_ntop(socket.AF_INET if r.type == 1 else socket.AF_INET6, r.address)
    elif r.type == 12:
        out['alias'] = r.alias
    elif r.type == 33:
        out.update(server=r.server, port=r.port)
    elif r.type == 16:
        out['text'] = r.text.hex()
    return out


def packet_json(data, src):
    msg = DNSIncoming(data)
    return {
        'at': time.time(),
        'src': '%s:%d' % src,
        'id': msg.id,
        'flags': msg.flags,
        'valid': msg.valid,
        'authorities': msg.num_authorities,
        'questions': [{'name': q.name, 'type': q.type, 'class': q.class_, 'qu': q.unique} for q in msg.questions],
        'records': [record_json(r) for r in msg.answers],
    }


def resolve_host(ifaddr, name, timeout):
    zc = zc_on(ifaddr)
    try:
        end = time.time() + float(timeout)
        while time.time() < end:
            out = DNSOutgoing(_FLAGS_QR_QUERY)
            out.add_question(DNSQuestion(name, _TYPE_A, _CLASS_IN))
            zc.send(out)
            time.sleep(0.5)
            records = zc.cache.get_all_by_details(name, _TYPE_A, _CLASS_IN)
            if records:
                return {'addresses': sorted(socket.inet_ntoa(r.address) for r in records)}
        return {'addresses': []}
    finally:
        zc.close()


class Collect(ServiceListener):
    def __init__(self):
        self.names = set()

    def add_service(self, zc, type_, name):
        self.names.add(name)

    def update_service(self, zc, type_, name):
        self.names.add(name)

    def remove_service(self, zc, type_, name):
        pass


def browse(ifaddr, type_, timeout):
    zc = zc_on(ifaddr)
    try:
        listener = Collect()
        browser = ServiceBrowser(zc, type_, listener)
        end = time.time() + float(timeout)
        while time.time() < end and not listener.names:
            time.sleep(0.1)
        browser.cancel()
        instances = []
        for name in sorted(listener.names):
            info = zc.get_service_info(type_, name, timeout=3000)
            if info is None:
                instances.append({'name': name, 'resolved': False})
                continue
            instances.append({
                'name': name,
                'resolved': True,
                'server': info.server,
                'port': info.port,
                'addresses': info.parsed_addresses(),
                'text': info.text.hex() if info.text is not None else None,
                'properties': {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()},
            })
        return {'instances': instances}
    finally:
        zc.close()


def types(ifaddr, timeout):
    zc = zc_on(ifaddr)
    try:
        return {'types': sorted(ZeroconfServiceTypes.find(zc=zc, timeout=float(timeout)))}
    finally:
        zc.close()


def mdns_socket(ifaddr, port, join):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(('0.0.0.0', port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    if join:
        mreq = struct.pack('4s4s', socket.inet_aton(GROUP), socket.inet_aton(ifaddr))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    return sock


def receive(sock, seconds, keep):
    packets = []
    end = time.time() + float(seconds)
    while True:
        left = end - time.time()
        if left <= 0:
            return packets
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            return packets
        if keep(src):
            packets.append(packet_json(data, src))


def sniff(ifaddr, seconds):
    sock = mdns_socket(ifaddr, 5353, True)
    print(json.dumps({'listening': True}), flush=True)
    return {'packets': receive(sock, seconds, lambda src: True)}


def query(ifaddr, dest, srcport, timeout, name, type_, *extra):
    qu = 'qu' in extra
    out = DNSOutgoing(_FLAGS_QR_QUERY, multicast=int(srcport) == 5353, id_=0 if int(srcport) == 5353 else 0x1234)
    q = DNSQuestion(name, TYPES[type_], _CLASS_IN)
    q.unicast = qu
    out.add_question(q)
    for item in extra:
        if item.startswith('known:'):
            _, kname, target, ttl = item.split(':')
            out.add_answer_at_time(DNSPointer(kname, _TYPE_PTR, _CLASS_IN, int(ttl), target), 0)
    repeat, gap = 1, 0.0
    for item in extra:
        if item.startswith('repeat:'):
            _, count, gap_ms = item.split(':')
            repeat, gap = int(count), int(gap_ms) / 1000
    sock = mdns_socket(ifaddr, int(srcport), False)
    for i in range(repeat):
        if i > 0:
            time.sleep(gap)
        sock.sendto(out.packets()[0], (dest, 5353))
    packets = receive(sock, timeout, lambda src: src[1] == 5353)
    return {'sent_id': out.id, 'srcport': sock.getsockname()[1], 'packets': packets}


def send(ifaddr, dest, *payloads):
    sock = mdns_socket(ifaddr, 0, False)
    for payload in payloads:
        sock.sendto(bytes.fromhex(payload), (dest, 5353))
    return {'sent': len(payloads)}


def squat(ifaddr, hostname, address):
    """A minimal responder that holds HOSTNAME: it announces HOSTNAME A ADDRESS, then answers
    every question (A or ANY, probes included) for it, as RFC 6762 section 8.1 expects of the
    name's owner. (zeroconf's own registry does not answer ANY questions for host names, so
    it cannot defend a name against a probe.)"""
    sock = mdns_socket(ifaddr, 5353, True)
    record = DNSAddress(hostname, _TYPE_A, _CLASS_IN | _CLASS_UNIQUE, 120, socket.inet_aton(address))

    def answer(dest):
        out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA, multicast=True)
        out.add_answer_at_time(record, 0)
        sock.sendto(out.packets()[0], dest)

    answer((GROUP, 5353))
    print(json.dumps({'registered': True}), flush=True)
    answered = 0
    sock.setblocking(False)
    while True:
        ready, _, _ = select.select([sock, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.readline():
            break
        if sock in ready:
            data, src = sock.recvfrom(65535)
            msg = DNSIncoming(data)
            if not msg.valid or not msg.is_query():
                continue
            for q in msg.questions:
                if q.name.lower() == hostname.lower() and q.type in (_TYPE_A, _TYPE_ANY):
                    answer(src if q.unique else (GROUP, 5353))
                    answered += 1
    return {'answered': answered}


COMMANDS = {'resolve-host': resolve_host, 'browse': browse, 'types': types, 'sniff': sniff,
            'query': query, 'send': send, 'squat': squat}

if __name__ == '__main__':
    result = COMMANDS[sys.argv[1]](*sys.argv[2:])
    print(json.dumps(result), flush=True)
