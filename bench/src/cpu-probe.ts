/**
 * Preloaded into every server the bench starts (`node --import`). Over the
 * IPC channel it answers `cpu` with this process's CPU time in microseconds,
 * and starts and stops V8's CPU profiler on request, so the bench reads server
 * CPU at µs resolution and profiles exactly the load it is measuring, without
 * any endpoint in the product.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

let session: Session | undefined;

async function startProfile(): Promise<void> {
  session ??= new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 250 µs: a request takes ~1 ms of CPU; V8's default 1 ms would see about one sample each.
  await session.post('Profiler.setSamplingInterval', { interval: 250 });
  await session.post('Profiler.start');
}

async function stopProfile(file: string): Promise<void> {
  if (!session) throw new Error('no profile running');
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
  session = undefined;
}

process.on('message', (message: unknown) => {
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send?.({ cpuMicros: user + system });
  } else if (message && typeof message === 'object' && 'profile' in message) {
    const { profile, file } = message as { profile: 'start' | 'stop'; file?: string };
    const done = profile === 'start' ? startProfile() : stopProfile(file ?? 'profile.cpuprofile');
    done.then(
      () => process.send?.({ profiled: profile }),
      (error: unknown) => process.send?.({ profiled: profile, error: String(error) }),
    );
  }
});
// The IPC channel must not keep a server alive once it has closed everything else.
process.channel?.unref();
