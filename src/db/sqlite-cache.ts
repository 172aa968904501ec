/** SQLite page cache sizes (in a module of their own: the reader threads load nothing else of src/db). */
/**
 * SQLite page cache of a connection, in KiB. Every thread of a server has one (the serving
 * thread's writer, the job thread's, each reader thread's), and each fills to its size on a
 * large import or export: the sizes are what keeps the server's memory bounded (issue 13: peak
 * RSS ≤ 300 MB). Pages beyond them are read from the OS's file cache, a copy away.
 */
export const WRITER_CACHE_KIB = 16_384;
/**
 * The job thread's connection. It also bounds each sorter of a whole-upload statement (SQLite keeps
 * a sort in memory up to the cache's size, then spills it to a temporary file): 8 MB measured as
 * fast as 32 MB on a 1,000,000-row import (10.3 vs 10.6 s) with 23–34 MB less peak memory.
 */
export const JOB_CACHE_KIB = 8_192;
/**
 * Each reader thread's connection (sqlite-reader-thread.ts). An export fills its reader's cache
 * with pages it reads once: 4 MB took 16 MB off the server's peak through a 750,000-row
 * transactions export against 16 MB, at the same speed (issue 13); the lists benchmark's requests
 * (an index walk of 50 rows, a count over the store) read few pages, or pages no cache would hold.
 */
export const READER_CACHE_KIB = 4_096;
