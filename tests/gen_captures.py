#!/usr/bin/env python3
"""Deterministic generator of the PacketMancer test captures.

Usage: python3 tests/gen_captures.py [OUTDIR]      (default: <repo>/captures)

Writes classic libpcap files (LINKTYPE_ETHERNET, microsecond timestamps,
snaplen 65535) built from scratch with the Python standard library only.
Every IPv4 header checksum and every TCP checksum is correct, so Wireshark's
checksum validation (when enabled) stays silent.  Nothing is random: ISNs,
IP IDs, MAC addresses and payload bytes are derived from fixed values and
every file starts at 2024-01-01 00:00:00 UTC, so two runs produce
byte-identical files.

The scenarios are shaped around Wireshark 4.0's TCP sequence analysis
(epan/dissectors/packet-tcp.c, tcp_analyze_sequence_number), whose rules
matter here:
  * a data segment whose seq is below the highest seq seen so far is
    - "spurious retransmission" if the receiver already ACKed all of it,
    - "fast retransmission" if >= 2 duplicate ACKs for exactly that seq came
      in and the last of them is < 20 ms old,
    - "out-of-order" if it arrives less than the handshake RTT (3 ms when no
      handshake was seen) after the highest segment and does not end exactly
      where that highest segment ends,
    - otherwise a plain "retransmission";
  * a segment whose seq is ABOVE the highest seq seen is flagged
    "previous segment not captured" (lost_segment).  That is why a simple
    swap of two segments cannot give an out-of-order flag alone: the
    segment that jumps ahead is always flagged lost_segment.  The
    out-of-order scenario therefore uses a segment duplicated by the path and
    delivered late (see below);
  * a pure ACK with the same seq/ack/window as the previous one from that
    side is a duplicate ACK; the same but with another window is a window
    update.  Windows are therefore kept constant except where a scenario is
    about the window.

Timing model: captured next to the server.  RTT 20 ms (client packets arrive
20 ms after the server segment they answer), server segments 1 ms apart in a
burst, bursts of at most 16 segments so that a burst is always on the wire
before its first ACK comes back, retransmission timeout 200 ms (the Linux
minimum).  Data segments carry 1000 bytes.

Scenarios (file: conversations, what Wireshark 4.0 flags):
  clean.pcap           10.0.0.1:40001 -> 10.0.0.2:80; handshake, request,
                       10 x 1000 B response, client ACKs every 2nd segment,
                       FIN close.  No analysis flag at all.
  retransmissions.pcap 10.0.0.1:40002 -> 10.0.0.2:80, 40 packets; six times
                       the last segment of a burst is lost downstream, the
                       client ACKs what it got, the server resends the lost
                       segment 200 ms later (RTO): 6 retransmissions.
  dupacks.pcap         10.0.0.1:40011/40012/40013 -> 10.0.0.2:80; segment S
                       lost downstream, every later segment makes the client
                       repeat ACK=S: 2, 3 and 5 duplicate ACKs, then the
                       server resends S 2 ms after the last duplicate ACK
                       (fast retransmission), then one cumulative ACK.
  zerowindow.pcap      10.0.0.1:40021 -> 10.0.0.2:80; the client's
                       application stops reading twice: its ACKs shrink the
                       window to 2000 and then 0, 150 ms later a window
                       update reopens it to 64240.  2 zero-window ACKs (plus
                       2 window updates).  The server sends no probes.
  outoforder.pcap      10.0.0.3:40031 -> 10.0.0.4:80 (100 packets, 3
                       out-of-order) and 10.0.0.3:40032 -> 10.0.0.4:80 (100
                       packets, 2 out-of-order).  An out-of-order event: the
                       server sends X1, X2; the path delivers a second copy
                       of X1 0.3 ms after X2; the client then ACKs X2.
  ipv6.pcap            [2001:db8::1]:40041 -> [2001:db8::2]:443; handshake,
                       request, data, 1 RTO retransmission, FIN close.
  midstream.pcap       10.0.0.1:40051 <-> 10.0.0.2:80 with no handshake: the
                       first packet is a server data segment; 13 packets.
  many.pcap            10.0.0.5:40061 -> 10.0.0.6:80, 1500 packets, 20 RTO
                       retransmissions spread over a bulk transfer.
  reset.pcap           10.0.0.7:40071 -> 10.0.0.8:80 SYN refused with
                       RST/ACK; 10.0.0.7:40072 -> 10.0.0.8:80 handshake,
                       request, short response, then the client aborts with
                       RST/ACK.
  empty.pcap           global header only, no packets.
  rtt.pcap             known round-trip times (see scen_rtt), a slow path
                       and an unanswered SYN; not part of demo.pcap.
  dns.pcap             DNS over UDP (and one exchange over TCP) with known
                       rcodes, latencies, unanswered queries and
                       retransmissions (see scen_dns and
                       tests/dns-expected.txt); not part of demo.pcap.
  hostile.pcap         DNS over UDP whose query names carry quotes,
                       backslashes, NUL bytes, newlines, ANSI and OSC
                       escape sequences, C1 controls, invalid UTF-8 and
                       over-long labels and names (see scen_hostile and
                       tests/test_hostile.py); not part of demo.pcap.
  demo.pcap            all packets of the nine files above; scenario i (in
                       the order listed, clean = 1) is shifted to start at
                       2024-01-01 00:00:00 + i*10 s.  Each scenario lasts
                       less than 10 s, so conversations never overlap and
                       each keeps exactly the flags of its own file.
"""

import ipaddress
import struct
import sys
from pathlib import Path

# 2024-01-01 00:00:00 UTC; all times below are integer microseconds.
BASE_EPOCH_S = 1704067200
MS = 1000

RTT = 20 * MS            # client <-> server round trip seen from the server
BURST_GAP = 1 * MS       # spacing of back-to-back server segments
TURNAROUND = 100         # server reaction time to an incoming packet
RTO = 200 * MS           # retransmission timeout
SEG = 1000               # payload bytes of a full data segment
WINDOW = 64240           # advertised window everywhere unless noted
MAX_BURST = 16           # 16 segments x 1 ms < RTT: ACKs never interleave

# TCP flag bits
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

PCAP_GLOBAL_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def checksum16(data):
    """RFC 1071 one's complement sum (used by IPv4 and TCP)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def filler(n, offset=0):
    """Deterministic printable payload.  The offset is the byte position in
    the stream so a retransmission carries exactly the original bytes."""
    # Short CRLF-terminated lines: the HTTP dissector on port 80 then sees a
    # complete (non-HTTP) line at once and never asks TCP to reassemble, so
    # retransmitted copies cause no "reassembly overlap" expert errors.
    pattern = b"PacketMancer test payload 0123456789 abcdefghijklmnopqrstuvwxyz\r\n"
    start = offset % len(pattern)
    reps = (start + n) // len(pattern) + 1
    return (pattern * reps)[start:start + n]


class Host:
    """One end of a conversation.  The IP ID counter lives here so that two
    conversations of the same host keep counting like a real stack."""

    def __init__(self, ip):
        self.ip = ipaddress.ip_address(ip)
        # Locally administered MAC derived from the last 4 address bytes.
        self.mac = b"\x02\x00" + self.ip.packed[-4:]
        self.ip_id = 0x1000 + self.ip.packed[-1] * 0x100


class Endpoint:
    """Per-conversation TCP state of one side."""

    def __init__(self, host, port, isn, window=WINDOW):
        self.host = host
        self.port = port
        self.isn = isn
        self.next_seq = isn     # next sequence number this side will send
        self.window = window


def build_frame(src, dst, flags, seq, ack, window, payload, options=b""):
    """Ethernet + IPv4/IPv6 + TCP frame with valid checksums."""
    assert len(options) % 4 == 0
    tcp_len = 20 + len(options) + len(payload)
    offset_flags = ((20 + len(options)) // 4) << 12 | flags
    tcp_hdr = struct.pack("!HHIIHHHH", src.port, dst.port, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, offset_flags, window, 0, 0) + options
    s_ip, d_ip = src.host.ip, dst.host.ip
    if s_ip.version == 4:
        pseudo = s_ip.packed + d_ip.packed + struct.pack("!BBH", 0, 6, tcp_len)
    else:
        pseudo = s_ip.packed + d_ip.packed + struct.pack("!I3xB", tcp_len, 6)
    csum = checksum16(pseudo + tcp_hdr + payload)
    tcp = tcp_hdr[:16] + struct.pack("!H", csum) + tcp_hdr[18:] + payload

    if s_ip.version == 4:
        src.host.ip_id = (src.host.ip_id + 1) & 0xFFFF
        ip_hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len,
                             src.host.ip_id, 0x4000,  # DF, like Linux
                             64, 6, 0, s_ip.packed, d_ip.packed)
        ip_hdr = ip_hdr[:10] + struct.pack("!H", checksum16(ip_hdr)) + ip_hdr[12:]
        ethertype = 0x0800
    else:
        ip_hdr = struct.pack("!IHBB16s16s", 6 << 28, tcp_len, 6, 64,
                             s_ip.packed, d_ip.packed)
        ethertype = 0x86DD
    eth = dst.host.mac + src.host.mac + struct.pack("!H", ethertype)
    return eth + ip_hdr + tcp


class Conversation:
    """Scripted TCP conversation.  Scenario code advances self.t and calls
    the packet helpers in capture order; sequence numbers are tracked here so
    the scripts only say what is special (explicit seq/ack/window)."""

    def __init__(self, packets, client, server, cport, sport, t0):
        self.packets = packets          # shared list of (time_us, frame)
        self.t = t0
        self.c = Endpoint(client, cport, isn=0x1A2B0000 + cport * 7919)
        self.s = Endpoint(server, sport, isn=0x6C000000 + cport * 104729)
        self.count = 0
        self.mss = 1460 if client.ip.version == 4 else 1440

    def _side(self, from_client):
        return (self.c, self.s) if from_client else (self.s, self.c)

    def packet(self, from_client, flags, dt=0, nbytes=0, seq=None, ack=None,
               window=None, options=b"", payload=None):
        """Emit one segment dt microseconds after the previous one.  With no
        explicit seq the segment continues the sender's stream; with no
        explicit ack it acknowledges everything the peer has sent.  An
        explicit payload (bytes) replaces the filler and sets nbytes."""
        self.t += dt
        src, dst = self._side(from_client)
        fresh = seq is None
        if fresh:
            seq = src.next_seq
        if ack is None:
            ack = dst.next_seq if flags & ACK else 0
        if window is None:
            window = src.window
        if payload is None:
            payload = filler(nbytes, (seq - src.isn - 1) & 0xFFFFFFFF)
        else:
            nbytes = len(payload)
        frame = build_frame(src, dst, flags, seq, ack, window, payload, options)
        if self.packets and self.packets[-1][0] > self.t:
            raise AssertionError("time going backwards at %d" % self.t)
        self.packets.append((self.t, frame))
        self.count += 1
        if fresh:
            src.next_seq = (seq + nbytes + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return seq

    # -- building blocks -------------------------------------------------
    def handshake(self):
        """SYN, SYN/ACK, ACK with MSS options; Wireshark takes the SYN ->
        ACK time (20.1 ms) as iRTT, its out-of-order time threshold."""
        mss = struct.pack("!BBH", 2, 4, self.mss)
        self.packet(True, SYN, options=mss)
        self.packet(False, SYN | ACK, dt=TURNAROUND, options=mss)
        self.packet(True, ACK, dt=RTT)

    def request(self, nbytes=120):
        """Client request, sent right behind its handshake ACK."""
        self.packet(True, PSH | ACK, dt=50, nbytes=nbytes)

    def data(self, dt, nbytes=SEG, from_client=False):
        return self.packet(from_client, PSH | ACK, dt=dt, nbytes=nbytes)

    def ack(self, from_client=True, dt=0, ack=None, window=None):
        self.packet(from_client, ACK, dt=dt, ack=ack, window=window)

    def close(self):
        """Client FIN/ACK, server FIN/ACK, client ACK (3 packets)."""
        self.packet(True, FIN | ACK, dt=5 * MS)
        self.packet(False, FIN | ACK, dt=TURNAROUND)
        self.packet(True, ACK, dt=RTT)

    def burst(self, nsegs, lose_last=False):
        """Server bulk burst, client ACKs every second segment one RTT later
        (and the odd last one too, as its delayed-ACK timer would).

        lose_last: the last segment never reaches the client, so the client
        ACKs only up to its start (a single, non-duplicate ACK); the server
        resends it after RTO and the client ACKs everything.  Wireshark sees
        a plain retransmission: not ACKed yet (not spurious), no duplicate
        ACKs (not fast), 200 ms after the highest segment (not
        out-of-order).  Needs nsegs >= 2, otherwise the only ACK would
        repeat the previous one and be a duplicate ACK."""
        assert 1 <= nsegs <= MAX_BURST and (nsegs >= 2 or not lose_last)
        times, seqs, ends = [], [], []
        for i in range(nsegs):
            seqs.append(self.data(dt=BURST_GAP if i else TURNAROUND))
            times.append(self.t)
            ends.append(self.s.next_seq)
        received = nsegs - 1 if lose_last else nsegs
        acked_idx = list(range(1, received, 2))
        if received % 2:
            acked_idx.append(received - 1)
        for i in acked_idx:
            self.t = times[i] + RTT
            self.ack(ack=ends[i])
        if lose_last:
            self.t = times[-1] + RTO
            self.packet(False, PSH | ACK, seq=seqs[-1], nbytes=SEG)
            self.ack(dt=RTT, ack=ends[-1])


# -- scenarios ------------------------------------------------------------
# Each returns a list of (time_us_from_file_start, frame) in capture order.

def scen_clean():
    pk = []
    c = Conversation(pk, Host("10.0.0.1"), Host("10.0.0.2"), 40001, 80, 0)
    c.handshake()
    c.request()
    c.burst(10)
    c.close()
    assert c.count == 22
    return pk


def scen_retransmissions():
    pk = []
    c = Conversation(pk, Host("10.0.0.1"), Host("10.0.0.2"), 40002, 80, 0)
    c.handshake()
    c.request()
    # 3+1 + (6+6+6+5+5+5) + 3 = 40 packets, 6 RTO retransmissions.
    for n in (3, 3, 3, 2, 2, 2):
        c.burst(n, lose_last=True)
    c.close()
    assert c.count == 40
    return pk


def dupack_conversation(pk, client, server, cport, ndup, t0):
    """Segment S is captured (at the server) but lost downstream.  The client
    ACKs the two segments before S (ACK=S.seq, the original ACK), then
    repeats ACK=S.seq once per later segment: ndup duplicate ACKs.  The
    server resends S 2 ms after the last duplicate: within Wireshark's 20 ms
    fast-retransmission window and more than the iRTT after the highest
    segment, so it is fast and cannot be taken for out-of-order."""
    c = Conversation(pk, client, server, cport, 80, t0)
    c.handshake()
    c.request()
    c.data(dt=TURNAROUND)
    c.data(dt=BURST_GAP)
    t_a2 = c.t
    s_seq = c.data(dt=BURST_GAP)
    later = []
    for _ in range(ndup):
        c.data(dt=BURST_GAP)
        later.append(c.t)
    c.t = t_a2 + RTT
    c.ack(ack=s_seq)
    for t in later:
        c.t = t + RTT
        c.ack(ack=s_seq)
    c.packet(False, PSH | ACK, dt=2 * MS, seq=s_seq, nbytes=SEG)
    c.ack(dt=RTT)                       # cumulative ACK of everything
    c.close()
    return c


def scen_dupacks():
    pk = []
    t = 0
    client, server = Host("10.0.0.1"), Host("10.0.0.2")
    for cport, ndup in ((40011, 2), (40012, 3), (40013, 5)):
        c = dupack_conversation(pk, client, server, cport, ndup, t)
        t = c.t + 500 * MS
    return pk


def scen_zerowindow():
    pk = []
    c = Conversation(pk, Host("10.0.0.1"), Host("10.0.0.2"), 40021, 80, 0)
    c.handshake()
    c.request()
    for _ in range(2):
        # Four segments in flight; the application has stopped reading, so
        # the ACK of the first two offers only the 2000 bytes already on the
        # way (the server sent them before this ACK arrived, so no
        # window_full) and the next ACK closes the window.
        c.data(dt=TURNAROUND)
        t1 = c.t
        c.data(dt=BURST_GAP)
        c.data(dt=BURST_GAP)
        c.data(dt=BURST_GAP)
        end = c.s.next_seq
        c.t = t1 + BURST_GAP + RTT
        c.ack(ack=end - 2 * SEG, window=2 * SEG)
        c.ack(dt=2 * BURST_GAP, ack=end, window=0)        # zero window
        # The server sends nothing (no probes) until the application reads
        # and the stack reopens the window: same ACK, new window.
        c.ack(dt=150 * MS, ack=end, window=WINDOW)        # window update
    c.burst(2)
    c.close()
    return pk


def ooo_conversation(pk, client, server, cport, n_ooo, t0):
    """100 packets: 3 handshake + 1 request + 3 close + n_ooo events of 4
    packets + plain bursts to fill up.  Event: server sends X1, X2; the path
    delivers a duplicate of X1 0.3 ms after X2 (< iRTT, seq below the
    highest, does not end where X2 ends => out-of-order; the client has not
    ACKed X1 yet => not spurious); the client ACKs X2 once."""
    c = Conversation(pk, client, server, cport, 80, t0)
    c.handshake()
    c.request()
    fill = 100 - 7 - 4 * n_ooo
    # Plain bursts of 2 segments + 1 ACK (3 packets); a remainder is absorbed
    # by one or two bursts of 1 segment + ACK (2 packets each).
    plain = []
    while fill % 3:
        plain.append(1)
        fill -= 2
    plain += [2] * (fill // 3)
    # Spread the events evenly through the transfer.
    step = len(plain) // (n_ooo + 1)
    for i, n in enumerate(plain):
        c.burst(n)
        if (i + 1) % step == 0 and (i + 1) // step <= n_ooo:
            x1 = c.data(dt=TURNAROUND)
            c.data(dt=BURST_GAP)
            c.packet(False, PSH | ACK, dt=300, seq=x1, nbytes=SEG)
            c.ack(dt=RTT)
    c.close()
    assert c.count == 100, c.count
    return c


def scen_outoforder():
    pk = []
    client, server = Host("10.0.0.3"), Host("10.0.0.4")
    a = ooo_conversation(pk, client, server, 40031, 3, 0)
    ooo_conversation(pk, client, server, 40032, 2, a.t + 500 * MS)
    return pk


def scen_ipv6():
    pk = []
    c = Conversation(pk, Host("2001:db8::1"), Host("2001:db8::2"), 40041, 443, 0)
    c.handshake()
    c.request(200)
    c.burst(6)
    c.burst(4, lose_last=True)
    c.burst(4)
    c.close()
    return pk


def scen_midstream():
    """Capture starts in the middle of a transfer: no SYN, the first packet
    is server data.  Wireshark sets both bases from what it sees first, so
    nothing is flagged."""
    pk = []
    c = Conversation(pk, Host("10.0.0.1"), Host("10.0.0.2"), 40051, 80, 0)
    # Pretend some data already went both ways before the capture started.
    c.c.next_seq += 350
    c.s.next_seq += 25000
    c.burst(2)
    c.burst(2)
    c.data(dt=5 * MS, nbytes=150, from_client=True)   # next request
    c.burst(2)
    # Server closes this time (HTTP/1.0 style): FIN/ACK, FIN/ACK, ACK.
    c.packet(False, FIN | ACK, dt=TURNAROUND)
    c.packet(True, FIN | ACK, dt=RTT)
    c.packet(False, ACK, dt=TURNAROUND)
    assert c.count == 13
    return pk


def scen_many():
    pk = []
    c = Conversation(pk, Host("10.0.0.5"), Host("10.0.0.6"), 40061, 80, 0)
    c.handshake()
    c.request()
    # 7 + 58 bursts x (16 + 8) + 19 x 5 + 1 x 6 = 1500 packets.
    lossy = [3] + [2] * 19
    for i in range(58):
        c.burst(16)
        if i % 3 == 0:
            c.burst(lossy.pop(0), lose_last=True)
    assert not lossy
    c.close()
    assert c.count == 1500, c.count
    return pk


def scen_reset():
    pk = []
    client, server = Host("10.0.0.7"), Host("10.0.0.8")
    # (a) Nothing listens: the SYN is answered by RST/ACK, seq 0, window 0.
    a = Conversation(pk, client, server, 40071, 80, 0)
    a.packet(True, SYN, options=struct.pack("!BBH", 2, 4, 1460))
    a.packet(False, RST | ACK, dt=TURNAROUND, seq=0, window=0)
    # (b) The client aborts an established connection (SO_LINGER 0).
    b = Conversation(pk, client, server, 40072, 80, a.t + 1000 * MS)
    b.handshake()
    b.request()
    b.burst(3)
    b.packet(True, RST | ACK, dt=10 * MS)
    return pk


def scen_rtt():
    """Known round-trip times, set by the timestamps (not part of demo.pcap).

    (a) 10.0.0.9:40081 -> 10.0.0.10:80: handshake, request, then 20 server
        segments one at a time, the client ACKing segment i exactly
        10*i ms after it was sent (10, 20, ..., 200 ms); no FIN, so no
        other RTT samples but the handshake's.
    (b) 10.0.0.9:40082 -> 10.0.0.10:80: the same with 12 segments, each
        ACKed 600 ms later: a slow path.
    (c) 10.0.0.9:40083 -> 10.0.0.11:80: a SYN and two retries (1 s, then
        2 s later) that nothing answers."""
    pk = []
    client, server = Host("10.0.0.9"), Host("10.0.0.10")
    a = Conversation(pk, client, server, 40081, 80, 0)
    a.handshake()
    a.request()
    for i in range(1, 21):
        a.data(dt=TURNAROUND if i == 1 else 1 * MS)
        a.ack(dt=10 * i * MS)
    b = Conversation(pk, client, server, 40082, 80, a.t + 100 * MS)
    b.handshake()
    b.request()
    for i in range(12):
        b.data(dt=TURNAROUND if i == 0 else 1 * MS)
        b.ack(dt=600 * MS)
    c = Conversation(pk, client, Host("10.0.0.11"), 40083, 80, b.t + 100 * MS)
    syn = c.packet(True, SYN, options=struct.pack("!BBH", 2, 4, 1460))
    c.packet(True, SYN, dt=1000 * MS, seq=syn, options=struct.pack("!BBH", 2, 4, 1460))
    c.packet(True, SYN, dt=2000 * MS, seq=syn, options=struct.pack("!BBH", 2, 4, 1460))
    assert a.count == 3 + 1 + 40 and b.count == 3 + 1 + 24 and c.count == 3
    return pk


# -- DNS (dns.pcap) -------------------------------------------------------

DNS_PORT = 53
QTYPE_A, QCLASS_IN = 1, 1
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 2, 3, 5
DNS_TTL = 300


def build_udp_frame(src_host, sport, dst_host, dport, payload):
    """Ethernet + IPv4 + UDP frame with valid IP and UDP checksums."""
    udp_len = 8 + len(payload)
    s_ip, d_ip = src_host.ip, dst_host.ip
    assert s_ip.version == 4
    pseudo = s_ip.packed + d_ip.packed + struct.pack("!BBH", 0, 17, udp_len)
    udp_hdr = struct.pack("!HHHH", sport, dport, udp_len, 0)
    csum = checksum16(pseudo + udp_hdr + payload) or 0xFFFF   # RFC 768
    udp = udp_hdr[:6] + struct.pack("!H", csum) + payload
    src_host.ip_id = (src_host.ip_id + 1) & 0xFFFF
    ip_hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len,
                         src_host.ip_id, 0x4000, 64, 17, 0,
                         s_ip.packed, d_ip.packed)
    ip_hdr = ip_hdr[:10] + struct.pack("!H", checksum16(ip_hdr)) + ip_hdr[12:]
    return dst_host.mac + src_host.mac + struct.pack("!H", 0x0800) + ip_hdr + udp


def dns_name(name):
    """RFC 1035 label encoding of a dotted name (no compression)."""
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        assert 0 < len(raw) < 64
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def dns_query(qid, name):
    """Standard query, RD set, one question (QTYPE A, QCLASS IN)."""
    return (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name)
            + struct.pack("!HH", QTYPE_A, QCLASS_IN))


def dns_response(qid, name, rcode, addr=None):
    """Response from a recursive resolver: QR, RD, RA and the rcode; the
    question is echoed; a NOERROR answer carries one A record whose owner is
    a compression pointer to the question name (offset 12)."""
    answers = b""
    if rcode == RCODE_NOERROR:
        answers = struct.pack("!HHHIH4s", 0xC00C, QTYPE_A, QCLASS_IN, DNS_TTL,
                              4, ipaddress.ip_address(addr).packed)
    flags = 0x8000 | 0x0100 | 0x0080 | rcode
    return (struct.pack("!HHHHHH", qid, flags, 1, 1 if answers else 0, 0, 0)
            + dns_name(name) + struct.pack("!HH", QTYPE_A, QCLASS_IN) + answers)


def dns_id(n):
    """Deterministic, scattered, distinct 16-bit query IDs (n < 65536)."""
    return (0x3A5F + n * 40503) & 0xFFFF


class DnsUdpPair:
    """Scripted DNS-over-UDP traffic between one client and one server.
    Every query uses its own ephemeral source port (like a stub resolver
    opening a socket per lookup), except a retransmission, which reuses the
    port, id and name of the query it repeats."""

    def __init__(self, packets, client, server, pair_no):
        self.packets = packets
        self.client, self.server = Host(client), Host(server)
        self.pair_no = pair_no
        self.n = 0

    def exchange(self, t, name, rcode=RCODE_NOERROR, latency=None, addr=None,
                 dup_after=None):
        """Query at t (us); if latency is not None the response follows
        after exactly that many us; dup_after: the same response frame is
        sent again that many us later.  Returns (port, id) for a resend."""
        self.n += 1
        port = 50000 + 100 * self.pair_no + self.n
        qid = dns_id(self.pair_no * 100 + self.n)
        self.query(t, port, qid, name)
        if latency is not None:
            frame = build_udp_frame(self.server, DNS_PORT, self.client, port,
                                    dns_response(qid, name, rcode, addr))
            self.packets.append((t + latency, frame))
            if dup_after is not None:
                self.packets.append((t + latency + dup_after, frame))
        return port, qid

    def query(self, t, port, qid, name):
        self.packets.append((t, build_udp_frame(
            self.client, port, self.server, DNS_PORT, dns_query(qid, name))))


DNS_PAIR_SPACING = 10 * 1000 * MS


def scen_dns():
    """DNS over UDP and TCP with known outcomes and latencies (dns.pcap, not
    part of demo.pcap).  Pair n (A = 0) starts at n * 10 s; A, B and E send
    a query every 250 ms, C every 300 ms, D every 500 ms.  Answer addresses
    are documentation addresses (RFC 5737).

    A 10.1.0.1 -> 10.1.0.53: 20 names, all NOERROR; query i (1..20) is
      answered after exactly 10*i ms.
    B 10.1.0.2 -> 10.1.0.53: 10 queries: 6 NXDOMAIN (nosuchhost1..6.
      example.com), 2 SERVFAIL, 2 NOERROR; every answer after 5 ms.
    C 10.1.0.3 -> 10.1.0.54: 8 queries; 2 NOERROR after 30 ms, 6 never
      answered (lost1..6.example.net); lost1 is sent again 1 s later with
      the same port, id and name (9 query packets).
    D 10.1.0.4 -> 10.1.0.53: 12 queries, all NOERROR after 400 ms.
    E 10.1.0.5 -> 10.1.0.53: 6 queries (2 punycode, 3 random-looking, 1
      normal), all NOERROR after 10 ms; the response to the normal name is
      sent twice, 1 ms apart (identical frames).
    F 10.1.0.6:50601 -> 10.1.0.53:53 over TCP: handshake, one query with
      its 2-byte length prefix, REFUSED 15 ms later, FIN close."""
    pk = []
    base = lambda n: n * DNS_PAIR_SPACING
    step = 250 * MS

    a = DnsUdpPair(pk, "10.1.0.1", "10.1.0.53", 0)
    a_names = ["www.example.com", "mail.example.org", "api.example.net",
               "cdn.example.com", "docs.example.org", "login.example.com",
               "static.example.net", "blog.example.org", "shop.example.com",
               "news.example.net", "img.example.com", "ftp.example.org",
               "vpn.example.com", "git.example.net", "wiki.example.org",
               "status.example.com", "files.example.net",
               "calendar.example.org", "chat.example.com",
               "search.example.net"]
    for i, name in enumerate(a_names, start=1):
        a.exchange(base(0) + (i - 1) * step, name, latency=10 * i * MS,
                   addr="192.0.2.%d" % i)

    b = DnsUdpPair(pk, "10.1.0.2", "10.1.0.53", 1)
    b_plan = [("nosuchhost1.example.com", RCODE_NXDOMAIN),
              ("intranet.example.com", RCODE_NOERROR),
              ("nosuchhost2.example.com", RCODE_NXDOMAIN),
              ("nosuchhost3.example.com", RCODE_NXDOMAIN),
              ("broken-dnssec.example.org", RCODE_SERVFAIL),
              ("nosuchhost4.example.com", RCODE_NXDOMAIN),
              ("nosuchhost5.example.com", RCODE_NXDOMAIN),
              ("lame-delegation.example.net", RCODE_SERVFAIL),
              ("printer.example.com", RCODE_NOERROR),
              ("nosuchhost6.example.com", RCODE_NXDOMAIN)]
    for i, (name, rcode) in enumerate(b_plan):
        b.exchange(base(1) + i * step, name, rcode, latency=5 * MS,
                   addr="198.51.100.%d" % (i + 1))

    c = DnsUdpPair(pk, "10.1.0.3", "10.1.0.54", 2)
    c_plan = ["ntp.example.net", "lost1.example.net", "lost2.example.net",
              "lost3.example.net", "time.example.net", "lost4.example.net",
              "lost5.example.net", "lost6.example.net"]
    resend = None
    for i, name in enumerate(c_plan):
        t = base(2) + i * 300 * MS     # the resend falls between queries
        if name.startswith("lost"):
            port, qid = c.exchange(t, name)
            if resend is None:
                resend = (t + 1000 * MS, port, qid, name)
        else:
            c.exchange(t, name, latency=30 * MS, addr="203.0.113.%d" % (i + 1))
    c.query(*resend)

    d = DnsUdpPair(pk, "10.1.0.4", "10.1.0.53", 3)
    d_names = ["portal.example.edu", "backup.example.net", "wsus.example.com",
               "ldap.example.org", "proxy.example.net", "smtp.example.com",
               "imap.example.org", "repo.example.net", "jira.example.com",
               "grafana.example.org", "kibana.example.net", "www.example.edu"]
    for i, name in enumerate(d_names):
        d.exchange(base(3) + i * 2 * step, name, latency=400 * MS,
                   addr="198.51.100.%d" % (101 + i))

    e = DnsUdpPair(pk, "10.1.0.5", "10.1.0.53", 4)
    e_names = ["www.xn--mnich-kva.com", "qxvzkwptrmhd.com",
               "xn--bcher-kva.example", "kjhgfdsazxcvbnm.net",
               "weather.example.com", "bxqjzrtvplkw.org"]
    for i, name in enumerate(e_names):
        e.exchange(base(4) + i * step, name, latency=10 * MS,
                   addr="203.0.113.%d" % (101 + i),
                   dup_after=1 * MS if name == "weather.example.com" else None)

    f = Conversation(pk, Host("10.1.0.6"), Host("10.1.0.53"), 50601, DNS_PORT,
                     base(5))
    f.handshake()
    qid = dns_id(5 * 100 + 1)
    q = dns_query(qid, "secure.example.com")
    r = dns_response(qid, "secure.example.com", RCODE_REFUSED)
    f.packet(True, PSH | ACK, dt=50, payload=struct.pack("!H", len(q)) + q)
    f.packet(False, PSH | ACK, dt=15 * MS, payload=struct.pack("!H", len(r)) + r)
    f.ack(dt=RTT)
    f.close()

    pk.sort(key=lambda p: p[0])      # stable: equal times keep their order
    assert len({t for t, _ in pk}) == len(pk)
    assert pk[-1][0] < 70 * 1000 * MS
    return pk


# -- Hostile DNS names (hostile.pcap) --------------------------------------

# Query names as DNS labels (raw bytes, each sent with its length byte),
# chosen to break an output that copies capture text without care.  Each
# pair's names end up in one top-names list of the report and the JSON:
# five per pair, the report's and the JSON's limit per outcome.
HOSTILE_NX = [                                   # 10.2.0.1: NXDOMAIN
    [b'say"hi"', b"example"],                    # JSON string quote
    [b"back\\slash", b"example"],                # a backslash
    [b"nul\x00byte", b"example"],                # NUL inside a label
    [b"line\nbreak\r\ttab", b"example"],         # newline, CR, tab
    [b"\x1b[31mred\x1b[0m", b"example"],         # ANSI CSI colour
]
HOSTILE_SERVFAIL = [                             # 10.2.0.2: SERVFAIL
    [b"\x1b]0;pwned\x07", b"example"],           # OSC: set the window title
    [b"c1\x9b31m", b"example"],                  # a raw C1 CSI byte (not UTF-8)
    [b"c1utf8\xc2\x9b31m", b"example"],          # U+009B CSI, valid UTF-8
    [b"bad\xff\xfe\xc3(", b"example"],           # invalid UTF-8
    [b"del\x7f</script>", b"example"],           # DEL, and "</" for HTML
]
HOSTILE_LOST = [                                 # 10.2.0.3: never answered
    [b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 63, b"example"],  # 262 bytes > 255
    [b"dot.inside", b"example"],                 # a '.' inside a label
    [b"m\xc3\xbcnchen", b"example"],             # UTF-8 (no punycode)
    [b"bidi\xe2\x80\xaeexe.txt", b"example"],    # U+202E right-to-left override
    [b"xn--\x1b[2J\x08", b"example"],            # punycode-looking, erase screen
]
# 10.2.0.4: one query whose first label's length byte is 0x46 (70 > 63):
# the two top bits 01 make it an "extended label" (RFC 6891 retired them),
# which a parser must reject rather than read 70 bytes.  Answered REFUSED.
HOSTILE_EXTENDED = b"\x46" + b"x" * 70 + b"\x07example\x00"


def dns_wire_name(labels):
    """Labels (bytes) as RFC 1035 wire format; lengths must fit 6 bits,
    but the total may exceed RFC 1035's 255 bytes on purpose."""
    out = b""
    for raw in labels:
        assert 0 < len(raw) < 64
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def dns_raw_query(qid, wire):
    return (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire
            + struct.pack("!HH", QTYPE_A, QCLASS_IN))


def dns_raw_response(qid, wire, rcode):
    """A failure response echoing the question (no answer records)."""
    flags = 0x8000 | 0x0100 | 0x0080 | rcode
    return (struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0) + wire
            + struct.pack("!HH", QTYPE_A, QCLASS_IN))


def scen_hostile():
    """Four client/server pairs, one query every 100 ms from t = 0, each
    answered (or not) 5 ms later:
      10.2.0.1 -> 10.2.0.53: the 5 HOSTILE_NX names, NXDOMAIN;
      10.2.0.2 -> 10.2.0.53: the 5 HOSTILE_SERVFAIL names, SERVFAIL;
      10.2.0.3 -> 10.2.0.53: the 5 HOSTILE_LOST names, no response;
      10.2.0.4 -> 10.2.0.53: HOSTILE_EXTENDED, REFUSED.
    16 queries, 11 responses, 27 frames."""
    pk = []
    server = Host("10.2.0.53")
    plan = [(HOSTILE_NX, RCODE_NXDOMAIN), (HOSTILE_SERVFAIL, RCODE_SERVFAIL),
            (HOSTILE_LOST, None)]
    t = 0
    for pair_no, (names, rcode) in enumerate(plan):
        client = Host("10.2.0.%d" % (pair_no + 1))
        for i, labels in enumerate(names):
            wire = dns_wire_name(labels)
            port = 52000 + 100 * pair_no + i
            qid = dns_id(1000 + pair_no * 100 + i)
            pk.append((t, build_udp_frame(client, port, server, DNS_PORT,
                                          dns_raw_query(qid, wire))))
            if rcode is not None:
                pk.append((t + 5 * MS, build_udp_frame(
                    server, DNS_PORT, client, port,
                    dns_raw_response(qid, wire, rcode))))
            t += 100 * MS
    client = Host("10.2.0.4")
    qid = dns_id(1300)
    pk.append((t, build_udp_frame(client, 52300, server, DNS_PORT,
                                  dns_raw_query(qid, HOSTILE_EXTENDED))))
    pk.append((t + 5 * MS, build_udp_frame(
        server, DNS_PORT, client, 52300,
        dns_raw_response(qid, HOSTILE_EXTENDED, RCODE_REFUSED))))
    pk.sort(key=lambda p: p[0])
    assert len({t for t, _ in pk}) == len(pk) == 27
    return pk


SCENARIOS = [
    ("clean.pcap", scen_clean),
    ("retransmissions.pcap", scen_retransmissions),
    ("dupacks.pcap", scen_dupacks),
    ("zerowindow.pcap", scen_zerowindow),
    ("outoforder.pcap", scen_outoforder),
    ("ipv6.pcap", scen_ipv6),
    ("midstream.pcap", scen_midstream),
    ("many.pcap", scen_many),
    ("reset.pcap", scen_reset),
]

DEMO_SPACING = 10 * 1000 * MS


def write_pcap(path, packets, offset_us=0):
    with open(path, "wb") as f:
        f.write(PCAP_GLOBAL_HEADER)
        for t, frame in packets:
            ts = BASE_EPOCH_S * 1000000 + offset_us + t
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000,
                                len(frame), len(frame)))
            f.write(frame)


def main():
    default = Path(__file__).resolve().parent.parent / "captures"
    outdir = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    outdir.mkdir(parents=True, exist_ok=True)
    demo = []
    for i, (name, fn) in enumerate(SCENARIOS, start=1):
        packets = fn()
        # demo.pcap needs every scenario to fit in its 10 s slot.
        assert packets[-1][0] < DEMO_SPACING, name
        write_pcap(outdir / name, packets)
        demo += [(t + i * DEMO_SPACING, frame) for t, frame in packets]
    write_pcap(outdir / "empty.pcap", [])
    write_pcap(outdir / "demo.pcap", demo)
    # Kept out of demo.pcap: its 7 s do not fit a 10 s slot with margin to
    # spare, and demo.pcap's expectations stay those of the first nine.
    write_pcap(outdir / "rtt.pcap", scen_rtt())
    # Not TCP analysis at all: DNS transactions, kept out of demo.pcap too.
    write_pcap(outdir / "dns.pcap", scen_dns())
    # Names no output may print raw; kept out of demo.pcap too.
    write_pcap(outdir / "hostile.pcap", scen_hostile())
    print("wrote %d files to %s" % (len(SCENARIOS) + 5, outdir))


if __name__ == "__main__":
    main()
