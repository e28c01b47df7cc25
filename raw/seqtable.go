package raw

// seqTable remembers which of the 65536 sequence numbers have been answered,
// for duplicate detection: one bit each, cleared when the request is sent,
// set when its first reply arrives (iputils' rcvd_tbl). It also tracks, as
// iputils does, the highest acknowledged sequence, from which the number of
// requests in flight and the "pipe" (most requests outstanding at once)
// follow.
type seqTable struct {
	bits  [65536 / 64]uint64
	acked uint16
	pipe  int
}

func (t *seqTable) set(seq uint16)       { t.bits[seq>>6] |= 1 << (seq & 63) }
func (t *seqTable) clear(seq uint16)     { t.bits[seq>>6] &^= 1 << (seq & 63) }
func (t *seqTable) test(seq uint16) bool { return t.bits[seq>>6]&(1<<(seq&63)) != 0 }

// sent notes that transmitted requests have now been sent; when the 16-bit
// sequence wraps, the acknowledged mark is invalidated.
func (t *seqTable) sent(transmitted int) {
	if uint16(transmitted)-t.acked > 0x7fff {
		t.acked = uint16(transmitted) + 1
	}
}

// acknowledge records an answer (a reply or an error) to seq.
func (t *seqTable) acknowledge(seq uint16, transmitted int) {
	diff := uint16(transmitted) - seq
	if diff <= 0x7fff {
		if int(diff)+1 > t.pipe {
			t.pipe = int(diff) + 1
		}
		if int16(seq-t.acked) > 0 || uint16(transmitted)-t.acked > 0x7fff {
			t.acked = seq
		}
	}
}

// inFlight is how many requests after the last acknowledged one are
// unanswered.
func (t *seqTable) inFlight(transmitted, answered int) int {
	diff := uint16(transmitted) - t.acked
	if diff <= 0x7fff {
		return int(diff)
	}
	return transmitted - answered
}

// wasSent reports whether seq is a sequence number this pinger has sent:
// with fewer than 65536 sent, exactly 1..transmitted; after the wrap, all.
func wasSent(seq uint16, transmitted int) bool {
	if transmitted >= 65536 {
		return true
	}
	return seq != 0 && int(seq) <= transmitted
}
