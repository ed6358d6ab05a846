package reliability_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// proxyMode is what a proxy does with connections.
type proxyMode int

const (
	// proxyUp forwards every connection to the target.
	proxyUp proxyMode = iota
	// proxyDown resets every connection as soon as it is accepted: the
	// server is down, or its host unreachable.
	proxyDown
	// proxyHang accepts connections and never forwards nor answers a byte:
	// a server that hangs.
	proxyHang
)

// proxy is a TCP proxy on 127.0.0.1 in front of one server, which a test
// cuts (every open connection is reset, new ones too), hangs and restores,
// so that a server shared with other tests never has to stop. It can also
// cut itself after forwarding a given number of client writes, to land a
// failure at an exact step of a conversation (one write of a database
// client is, in practice, one request to the server).
type proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	mode     proxyMode
	conns    map[net.Conn]bool // every open connection, both sides; true for the client side
	cutAfter int               // > 0: cut after forwarding this many more client writes
	fired    bool              // the armed cut happened
	accepted int
	cuts     int
	wg       sync.WaitGroup
}

// newProxy starts a proxy to target and closes it at the end of the test.
func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		switch p.mode {
		case proxyDown:
			p.mu.Unlock()
			reset(c)
			continue
		case proxyHang:
			p.conns[c] = true // held open, silent, until the mode changes
			p.mu.Unlock()
			continue
		}
		p.conns[c] = true
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve forwards one connection until either side ends it or a cut.
func (p *proxy) serve(c net.Conn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if _, open := p.conns[c]; !open || p.mode != proxyUp {
		// Cut, or hung, while dialing: the client's side stays as the
		// mode wants it (closed, or held silent until Restore).
		p.mu.Unlock()
		_ = s.Close()
		return
	}
	p.conns[s] = false
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() { p.pipe(c, s, false); done <- struct{}{} }()
	go func() { p.pipe(s, c, true); done <- struct{}{} }()
	<-done
	p.drop(c)
	p.drop(s)
	<-done
}

// pipe copies src to dst until either ends. While the proxy hangs, what
// it reads is dropped. Client writes are counted for an armed cut.
func (p *proxy) pipe(dst, src net.Conn, client bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.current() != proxyHang {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if client && p.countWrite() {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) current() proxyMode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// countWrite counts one forwarded client write and cuts the proxy when the
// armed count is reached; it reports whether it cut.
func (p *proxy) countWrite() bool {
	p.mu.Lock()
	if p.cutAfter == 0 {
		p.mu.Unlock()
		return false
	}
	p.cutAfter--
	if p.cutAfter > 0 {
		p.mu.Unlock()
		return false
	}
	p.fired = true
	p.mu.Unlock()
	p.set(proxyDown)
	return true
}

// drop closes one side and forgets it; the client side is reset.
func (p *proxy) drop(c net.Conn) {
	p.mu.Lock()
	client, open := p.conns[c]
	delete(p.conns, c)
	p.mu.Unlock()
	if !open {
		return
	}
	if client {
		reset(c)
	} else {
		// The server side gets a clean close: the server reads, and
		// carries out, what was forwarded before it sees the end.
		_ = c.Close()
	}
}

// set switches the mode. Going down cuts every open connection. Hanging
// keeps them open but silent (a network path that drops everything), and
// coming back from a hang closes them, since what they dropped has broken
// the conversations they carried.
func (p *proxy) set(m proxyMode) {
	p.mu.Lock()
	if p.mode == m {
		p.mu.Unlock()
		return
	}
	if m != proxyUp {
		p.cuts++
	}
	p.mode = m
	p.cutAfter = 0
	var open []net.Conn
	if m != proxyHang {
		for c := range p.conns {
			open = append(open, c)
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		p.drop(c)
	}
}

// Cut resets every connection and refuses new ones until Restore.
func (p *proxy) Cut() { p.set(proxyDown) }

// Hang makes every connection, open or new, silent until Restore: nothing
// is forwarded either way and nothing is closed.
func (p *proxy) Hang() { p.set(proxyHang) }

// Restore forwards again.
func (p *proxy) Restore() { p.set(proxyUp) }

// CutAfterWrites arms a cut that happens right after the n-th client write
// from now is forwarded (n >= 1), on whatever connection.
func (p *proxy) CutAfterWrites(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAfter, p.fired = n, false
}

// Disarm cancels an armed cut and reports whether it had happened.
func (p *proxy) Disarm() (cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut = p.fired
	p.cutAfter, p.fired = 0, false
	return cut
}

// Stats reports how many connections the proxy accepted and how many times
// it went down or hung.
func (p *proxy) Stats() (accepted, cuts int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.cuts
}

func (p *proxy) close() {
	_ = p.ln.Close()
	p.set(proxyDown)
	p.wg.Wait()
}

// reset closes c with an RST rather than a FIN, as a crashed peer or a
// broken network path would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
