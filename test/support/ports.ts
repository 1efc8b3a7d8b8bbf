/** TCP ports for test servers and for "nothing listens here" cases. */
import { once } from 'node:events';
import net from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on now: bound to port 0, then released. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.unref();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}
