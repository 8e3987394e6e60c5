import { access, chmod, constants, mkdir, symlink, writeFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { resolveFfmpeg } from '../src/index.ts';
import { detectFfmpeg } from '../src/resolve-ffmpeg.ts';
import { useTempDir } from './helpers/temp-dir.ts';

const dir = useTempDir();

describe('resolveFfmpeg', () => {
  it('finds runnable ffmpeg and ffprobe, once per process', async () => {
    const first = await resolveFfmpeg();
    await access(first.ffmpegPath, constants.X_OK);
    await access(first.ffprobePath, constants.X_OK);
    expect(['system', 'npm']).toContain(first.source);
    expect(await resolveFfmpeg()).toBe(first);
  });

  it('uses the npm binaries when PATH has none', async () => {
    const found = await detectFfmpeg('');
    expect(found.source).toBe('npm');
    expect(found.ffmpegPath).toMatch(/node_modules.*@ffmpeg-installer/);
    expect(found.ffprobePath).toMatch(/node_modules.*@ffprobe-installer/);
  });

  it('prefers working ffmpeg and ffprobe on PATH', async () => {
    const npm = await detectFfmpeg('');
    const bin = dir.path('system-bin');
    await mkdir(bin);
    await symlink(npm.ffmpegPath, `${bin}/ffmpeg`);
    await symlink(npm.ffprobePath, `${bin}/ffprobe`);
    expect(await detectFfmpeg(`/nonexistent:${bin}`)).toEqual({
      ffmpegPath: `${bin}/ffmpeg`,
      ffprobePath: `${bin}/ffprobe`,
      source: 'system',
    });
  });

  it('skips a system ffmpeg that does not run, and never mixes sources', async () => {
    const npm = await detectFfmpeg('');
    const bin = dir.path('broken-bin');
    await mkdir(bin);
    await writeFile(`${bin}/ffmpeg`, '#!/bin/sh\nexit 127\n');
    await chmod(`${bin}/ffmpeg`, 0o755);
    await symlink(npm.ffprobePath, `${bin}/ffprobe`);
    expect(await detectFfmpeg(bin)).toEqual({ ...npm, source: 'npm' });
  });
});
