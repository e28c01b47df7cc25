package raw

import (
	"encoding/binary"
	"time"

	"netprog/sys"
)

// send transmits the next request, stamped with now (the time of the loop's
// turn that sends it).
func (p *Pinger) send(now time.Time) {
	st := &p.st
	if p.cfg.OnMissing != nil && st.Transmitted > 0 && !p.seqs.test(uint16(st.Transmitted)) {
		p.cfg.OnMissing(int(uint16(st.Transmitted)))
	}
	seq := uint16(st.Transmitted + 1)
	p.seqs.clear(seq)
	binary.BigEndian.PutUint16(p.out[6:], seq)
	if st.Timing {
		// The loop's clock reading, taken just before: a flood sends
		// as often as the kernel answers, and a second reading per
		// packet would cost more than the few hundred nanoseconds it
		// would move the stamp.
		binary.NativeEndian.PutUint64(p.out[8:], uint64(now.Unix()))
		binary.NativeEndian.PutUint64(p.out[16:], uint64(now.Nanosecond()))
	}
	p.out[2], p.out[3] = 0, 0
	if !p.v6 {
		binary.BigEndian.PutUint16(p.out[2:], Checksum(p.out))
	}
	_, err := sys.SendtoBufNonblock(p.fd, p.out, 0, p.dst)
	p.mu.Lock()
	st.Transmitted++
	p.seqs.sent(st.Transmitted)
	st.Elapsed = now.Sub(p.start)
	p.mu.Unlock()
	if err != nil {
		if p.dgram {
			p.drainErrors()
		}
		if p.cfg.OnSendError != nil {
			p.cfg.OnSendError(int(seq), err)
		}
		return
	}
	if p.cfg.OnSend != nil {
		p.cfg.OnSend(int(seq))
	}
}
