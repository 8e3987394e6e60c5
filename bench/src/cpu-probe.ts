/**
 * Preloaded into every server the bench starts (`node --import`): answers a
 * `cpu` message on the IPC channel with this process's CPU time in
 * microseconds, so the bench reads server CPU at µs resolution without any
 * endpoint in the product.
 */
process.on('message', (message: unknown) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  }
});
// The IPC channel must not keep a server alive once it has closed everything else.
process.channel?.unref();
