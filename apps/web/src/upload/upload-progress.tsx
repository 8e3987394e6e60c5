import { useId } from 'react';

import { formatBytes, formatDeadline, formatDuration, formatSpeed } from './format.ts';
import type { UploadProgress } from './progress-meter.ts';

const PHASE_LABEL = {
  preparing: 'Preparing',
  uploading: 'Uploading',
  completing: 'Confirming',
  completed: 'Uploaded',
} as const;

/** A labelled progress bar with the figures a person waits on: bytes, percent, speed, time left. */
export function UploadProgressBar({ fileName, progress }: { fileName: string; progress: UploadProgress }) {
  const id = useId();
  const { bytesSent, totalBytes, bytesPerSecond, etaSeconds, phase, expiresAt } = progress;
  const percent = totalBytes === 0 ? 100 : Math.floor((bytesSent / totalBytes) * 100);
  const figures = [
    `${formatBytes(bytesSent)} of ${formatBytes(totalBytes)}`,
    bytesPerSecond !== null && phase !== 'completed' ? formatSpeed(bytesPerSecond) : null,
    etaSeconds !== null && phase === 'uploading' && etaSeconds > 0 ? `about ${formatDuration(etaSeconds)} left` : null,
  ].filter(Boolean);

  return (
    <div className="upload-progress">
      <label htmlFor={id}>
        {PHASE_LABEL[phase]} <span className="file-name">{fileName}</span>
      </label>
      <progress id={id} max={totalBytes} value={bytesSent} aria-valuetext={`${percent}%, ${figures[0]}`} />
      <p className="figures">
        <strong data-testid="upload-percent">{percent}%</strong> · {figures.join(' · ')}
      </p>
      {expiresAt && phase === 'uploading' && (
        <p className="hint" data-testid="upload-deadline">
          If it stops, choose the same file again before {formatDeadline(expiresAt)} to continue.
        </p>
      )}
    </div>
  );
}
