/** SQLite page cache sizes (in a module of their own: the reader threads load nothing else of src/db). */
/**
 * SQLite page cache of a connection, in KiB. Every thread of a server has one (the serving
 * thread's writer, the job thread's, each reader thread's), and each fills to its size on a
 * large import or export: the sizes are what keeps the server's memory bounded (issue 13: peak
 * RSS ≤ 300 MB). Pages beyond them are read from the OS's file cache, a copy away.
 */
export const WRITER_CACHE_KIB = 16_384;
/** The job thread's connection: chunks of a million-row job touch the most pages. */
export const JOB_CACHE_KIB = 32_768;
/** Each reader thread's connection (sqlite-reader-thread.ts). */
export const READER_CACHE_KIB = 16_384;
