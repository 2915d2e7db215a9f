# The receive side the virtual boards' UARTs share (tcp_uart.TcpUart on the unix port, usart_poll.PolledUsart on
# the qemu port): bytes pulled in but not yet taken sit in self._buf[self._start:self._end]; read() and
# readline() behave as the stm32 machine.UART's with timeout=0 (None when nothing has arrived, no waiting).
# A subclass provides _fill() (pull what has arrived into the buffer, never past its end), any() and readinto().


class RxBuffer:
    def read(self, nbytes=-1):
        if nbytes is None or nbytes < 0:
            nbytes = self.any() or len(self._buf)
        b = bytearray(nbytes)
        n = self.readinto(b)
        if not n:
            return None
        return bytes(b) if n == nbytes else bytes(b[:n])

    def readline(self):
        self._fill()
        s, e = self._start, self._end
        if s == e:
            return None
        i = self._buf.find(b"\n", s, e)  # in place: copy the line only, not the payload buffered behind it
        if i < 0:
            if e < len(self._buf):
                return None  # no full line yet; like UART(timeout=0) we do not wait
            i = e - 1  # buffer full without a newline: hand it out so nothing stalls
        self._start = i + 1
        return bytes(self._mv[s : i + 1])
