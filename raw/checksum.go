package raw

import "encoding/binary"

// Checksum is the Internet checksum (RFC 1071) of b: the ones' complement of
// the ones' complement sum of its 16-bit big-endian words, an odd last byte
// padded with a zero. A message whose checksum field holds the right value
// sums, with that field, to 0xffff, so Checksum over it returns 0: that is
// how a receiver verifies one.
func Checksum(b []byte) uint16 {
	return ^fold(sum(b))
}

// sum adds b as 32-bit big-endian words into a 64-bit accumulator. Ones'
// complement addition is associative and the carries are folded back at the
// end, so adding two 16-bit words at a time gives the same result as one at
// a time, in half the steps.
func sum(b []byte) uint64 {
	var s uint64
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold adds the carries above 16 bits back in until none are left.
func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
