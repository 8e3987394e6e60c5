import { useSyncExternalStore } from 'react';

/**
 * The page's address, kept in the URL's hash so a static host serves every
 * route from index.html and a reload (or a shared link) opens the same view:
 *   #/sessions/:sessionId                      the session's library
 *   #/sessions/:sessionId/jobs/:jobId          one video's results page
 *   #/sessions/:sessionId/compare/:jobA/:jobB  two clips side by side
 */
export type Route =
  | { name: 'home' }
  | { name: 'session'; sessionId: string }
  | { name: 'job'; sessionId: string; jobId: string }
  | { name: 'compare'; sessionId: string; jobIds: readonly [string, string] };

const ID = '([0-9a-fA-F-]{36})';
const PATTERNS = {
  session: new RegExp(`^#/sessions/${ID}/?$`),
  job: new RegExp(`^#/sessions/${ID}/jobs/${ID}/?$`),
  compare: new RegExp(`^#/sessions/${ID}/compare/${ID}/${ID}/?$`),
};

/** The route a hash names; anything else is the home page. */
export function parseRoute(hash: string): Route {
  const job = PATTERNS.job.exec(hash);
  if (job?.[1] && job[2]) return { name: 'job', sessionId: job[1], jobId: job[2] };
  const compare = PATTERNS.compare.exec(hash);
  if (compare?.[1] && compare[2] && compare[3]) {
    return { name: 'compare', sessionId: compare[1], jobIds: [compare[2], compare[3]] };
  }
  const session = PATTERNS.session.exec(hash);
  if (session?.[1]) return { name: 'session', sessionId: session[1] };
  return { name: 'home' };
}

export function routeHref(route: Route): string {
  switch (route.name) {
    case 'home':
      return '#/';
    case 'session':
      return `#/sessions/${route.sessionId}`;
    case 'job':
      return `#/sessions/${route.sessionId}/jobs/${route.jobId}`;
    case 'compare':
      return `#/sessions/${route.sessionId}/compare/${route.jobIds[0]}/${route.jobIds[1]}`;
  }
}

export function navigate(route: Route): void {
  const href = routeHref(route);
  if (window.location.hash !== href) window.location.hash = href;
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};
const currentHash = () => window.location.hash;

/** The current route, following the back and forward buttons and links. */
export function useRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, currentHash));
}

/** The session a route is about, if any. */
export function sessionOf(route: Route): string | null {
  return route.name === 'home' ? null : route.sessionId;
}
