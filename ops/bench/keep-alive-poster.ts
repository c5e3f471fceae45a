import net from "node:net";

// The end-to-end sender's HTTP client: keep-alive sockets that each carry one POST at a time, and
// a queue of requests waiting for a free socket. It writes a request's bytes in one call and reads
// only the status line and Content-Length of the answer. node:http's client cost ~65 µs of CPU per
// request, a quarter of a core at 4,000 requests/s, taken from the fleet it measures on the same
// two cores; this costs a fraction of it (the bench's ingest runs use wrk for the same reason).

/** How a POST ended: its HTTP status, or 0 when the socket failed. */
export type Answered = (status: number) => void;

/** A pool of `sockets` keep-alive connections to `url` (http only) that POSTs JSON bodies. */
export function keepAlivePoster(url: URL, sockets: number) {
  const port = Number(url.port || 80);
  const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n`;
  const waiting: { request: Buffer; done: Answered }[] = [];
  const idle: Conn[] = [];
  const all = new Set<Conn>();

  interface Conn {
    socket: net.Socket;
    pending: Buffer;
    done: Answered | undefined;
  }

  const open = (): Conn => {
    const socket = net.connect({ host: url.hostname, port, noDelay: true });
    const conn: Conn = { socket, pending: Buffer.alloc(0), done: undefined };
    all.add(conn);
    socket.on("data", (chunk: Buffer) => {
      conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
      const status = completeAnswer(conn);
      if (status !== undefined) settle(conn, status);
    });
    const fail = () => {
      all.delete(conn);
      const done = conn.done;
      conn.done = undefined;
      const at = idle.indexOf(conn);
      if (at >= 0) idle.splice(at, 1);
      done?.(0);
      if (done !== undefined) next(open());
    };
    socket.on("error", fail);
    socket.on("close", fail);
    return conn;
  };

  // One whole answer at the head of `pending`: its status; the bytes are consumed.
  const completeAnswer = (conn: Conn): number | undefined => {
    const end = conn.pending.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const headers = conn.pending.toString("latin1", 0, end);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
    const total = /\r\ntransfer-encoding:\s*chunked/i.test(headers)
      ? chunkedEnd(conn.pending, end + 4)
      : end + 4 + (length === null ? 0 : Number(length[1]));
    if (total === undefined || conn.pending.length < total) return undefined;
    conn.pending = conn.pending.subarray(total);
    return Number(headers.slice(9, 12));
  };

  const settle = (conn: Conn, status: number) => {
    const done = conn.done;
    conn.done = undefined;
    done?.(status);
    next(conn);
  };

  const next = (conn: Conn) => {
    const job = waiting.shift();
    if (job === undefined) {
      idle.push(conn);
      return;
    }
    conn.done = job.done;
    conn.socket.write(job.request);
  };

  return {
    /** POSTs `body` with extra `headers`; `done` gets the status once the whole answer is in. */
    post(body: string, headers: Readonly<Record<string, string>>, done: Answered): void {
      let text = `${head}Content-Length: ${Buffer.byteLength(body)}\r\n`;
      for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
      const request = Buffer.from(`${text}\r\n${body}`);
      waiting.push({ request, done });
      const conn = idle.pop() ?? (all.size < sockets ? open() : undefined);
      if (conn !== undefined) next(conn);
    },
    close(): void {
      for (const conn of all) {
        conn.socket.removeAllListeners("close");
        conn.socket.destroy();
      }
    },
  };
}

// Where a chunked body that starts at `from` ends (after its last chunk and empty trailer), or
// undefined while it is not all in.
function chunkedEnd(bytes: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const line = bytes.indexOf("\r\n", at);
    if (line < 0) return undefined;
    const size = Number.parseInt(bytes.toString("latin1", at, line), 16);
    if (size === 0) return bytes.length >= line + 4 ? line + 4 : undefined;
    at = line + 2 + size + 2;
    if (at > bytes.length) return undefined;
  }
}
