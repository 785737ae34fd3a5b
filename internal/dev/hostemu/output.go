package hostemu

import (
	"bytes"
	"io"
	"sync"
)

// maxLine bounds a buffered partial line; longer lines are split.
const maxLine = 64 << 10

// syncWriter serializes whole-line writes of stdout and stderr to one
// io.Writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) writeLine(prefix string, line []byte) {
	buf := make([]byte, 0, len(prefix)+len(line)+1)
	buf = append(append(append(buf, prefix...), line...), '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.w.Write(buf)
}

// lineWriter is a process's stdout or stderr: it splits the stream into
// lines and writes each, prefixed, to out. exec.Cmd writes to it from a
// single goroutine.
type lineWriter struct {
	out    *syncWriter
	prefix string
	buf    []byte
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.out.writeLine(w.prefix, bytes.TrimSuffix(w.buf[:i], []byte("\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.flush()
	}
	return len(p), nil
}

// flush writes a trailing partial line.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.out.writeLine(w.prefix, w.buf)
		w.buf = nil
	}
}
