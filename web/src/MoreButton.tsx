import { Button } from '@mantine/core';
import type { ReactNode } from 'react';

interface Paged {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}

/** The next keyset page of an infinite query, appended below: shown only while there is one. */
export function MoreButton({ query, children }: { query: Paged; children: ReactNode }) {
  if (!query.hasNextPage) return null;
  return (
    <Button variant="default" onClick={() => query.fetchNextPage()} loading={query.isFetchingNextPage}>
      {children}
    </Button>
  );
}
