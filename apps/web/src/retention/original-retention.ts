/** What a results page says about the original video under the owner's retention policy (null: kept, nothing to say). */
export function originalRetentionText(
  job: { originalRemovesAt: string | null; originalRemovedAt: string | null },
  formatDate: (at: Date) => string = (at) => at.toLocaleDateString(),
): string | null {
  if (job.originalRemovedAt) {
    return `The original video was removed on ${formatDate(new Date(job.originalRemovedAt))} under your retention policy; its analysis is kept.`;
  }
  if (job.originalRemovesAt) {
    return `The original video will be removed on ${formatDate(new Date(job.originalRemovesAt))} under your retention policy; its analysis will be kept.`;
  }
  return null;
}
