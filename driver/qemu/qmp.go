package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// qmp is a client for the QEMU Machine Protocol on the connection a
// qmpEndpoint gives (qmp_endpoint.go). Hand-written (about 150 lines) rather than a
// dependency because it needs only three commands, each bounded by a
// context, which the common Go QMP client does not offer.
type qmp struct {
	conn   net.Conn
	logf   func(string, ...any)
	mu     sync.Mutex // one command at a time
	nextID int
	reply  chan qmpMessage
	closed chan struct{}
	once   sync.Once
}

type qmpMessage struct {
	Greeting json.RawMessage `json:"QMP"`
	Return   json.RawMessage `json:"return"`
	Error    *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
	ID    *int            `json:"id"`
}

// newQMP reads QEMU's greeting, leaves capabilities negotiation mode, then
// reads replies and events in the background.
func newQMP(ctx context.Context, conn net.Conn, logf func(string, ...any)) (*qmp, error) {
	dec := json.NewDecoder(conn)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var greeting qmpMessage
	if err := dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("reading the QMP greeting: %w", ctxErr(ctx, err))
	}
	if greeting.Greeting == nil {
		return nil, errors.New("QMP: first message is not a greeting")
	}
	if _, err := conn.Write([]byte(`{"execute":"qmp_capabilities","id":0}` + "\n")); err != nil {
		return nil, fmt.Errorf("QMP: %w", ctxErr(ctx, err))
	}
	var ack qmpMessage
	for { // events may arrive before the reply
		if err := dec.Decode(&ack); err != nil {
			return nil, fmt.Errorf("QMP capabilities: %w", ctxErr(ctx, err))
		}
		if ack.Event == "" {
			break
		}
	}
	if ack.Error != nil {
		return nil, fmt.Errorf("QMP capabilities: %s", ack.Error.Desc)
	}
	if !stop() { // ctx ended meanwhile; the deadline is set
		return nil, ctx.Err()
	}
	q := &qmp{conn: conn, logf: logf, nextID: 1, reply: make(chan qmpMessage, 1), closed: make(chan struct{})}
	go q.read(dec)
	return q, nil
}

func (q *qmp) read(dec *json.Decoder) {
	defer q.close()
	for {
		var m qmpMessage
		if err := dec.Decode(&m); err != nil {
			return
		}
		if m.Event != "" {
			q.logf("qemu: event %s %s", m.Event, m.Data)
			continue
		}
		select {
		case q.reply <- m:
		default: // a reply nobody waits for any more
		}
	}
}

// execute runs a command and decodes its return value into result (if not
// nil). The connection is closed when QEMU exits, which ends a wait.
func (q *qmp) execute(ctx context.Context, command string, args, result any) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := q.nextID
	q.nextID++
	req := map[string]any{"execute": command, "id": id}
	if args != nil {
		req["arguments"] = args
	}
	data, err := json.Marshal(req)
	if err != nil {
		return err
	}
	q.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := q.conn.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("QMP %s: %w", command, err)
	}
	for {
		select {
		case m := <-q.reply:
			if m.ID == nil || *m.ID != id {
				continue // the late reply of a command that timed out
			}
			if m.Error != nil {
				return fmt.Errorf("QMP %s: %s: %s", command, m.Error.Class, m.Error.Desc)
			}
			if result != nil {
				if err := json.Unmarshal(m.Return, result); err != nil {
					return fmt.Errorf("QMP %s: decoding %s: %w", command, m.Return, err)
				}
			}
			return nil
		case <-q.closed:
			return fmt.Errorf("QMP %s: connection closed (QEMU exited)", command)
		case <-ctx.Done():
			return fmt.Errorf("QMP %s: %w", command, ctx.Err())
		}
	}
}

func (q *qmp) close() {
	q.once.Do(func() {
		q.conn.Close()
		close(q.closed)
	})
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
