/**
 * Import columns: the canonical field names and the header spellings other apps (and our own
 * exports) use for them. A header matches case-insensitively, ignoring spaces, dashes and
 * underscores, so `Points Balance`, `points_balance` and `POINTS-BALANCE` are one name.
 */
export type ImportField =
  | 'customerId'
  | 'externalId'
  | 'email'
  | 'points'
  | 'tierPoints'
  | 'type'
  | 'reason'
  | 'customerMessage'
  | 'reference'
  | 'createdAt'
  | 'firstName'
  | 'lastName'
  | 'lastActivityAt'
  | 'availableAt'
  | 'expiresAt';

const ALIASES: Record<ImportField, readonly string[]> = {
  customerId: ['customerid', 'tallyid', 'tallycustomerid'],
  // Our transactions export names the member outside the store as customerExternalId / customerEmail.
  externalId: ['externalid', 'shopifyid', 'shopifycustomerid', 'customerexternalid', 'externalcustomerid'],
  email: ['email', 'emailaddress', 'customeremail', 'mail'],
  points: ['points', 'pointsbalance', 'balance', 'pointsamount', 'totalpoints', 'amount', 'pointschange', 'pointsdelta'],
  tierPoints: ['tierpoints', 'tierpointsamount'],
  type: ['type', 'transactiontype', 'kind'],
  reason: ['reason', 'internalnote', 'note', 'notes', 'comment'],
  customerMessage: ['customermessage', 'externalnote', 'message', 'customernote'],
  reference: ['reference', 'ref', 'referenceid'],
  createdAt: ['createdat', 'appliedat', 'date', 'timestamp', 'created', 'occurredat'],
  firstName: ['firstname', 'first', 'givenname'],
  lastName: ['lastname', 'last', 'surname', 'familyname'],
  lastActivityAt: ['lastactivityat', 'lastactivity'],
  availableAt: ['availableat', 'availablefrom', 'availableon', 'pendinguntil'],
  expiresAt: ['expiresat', 'expireson', 'expirydate', 'expirationdate', 'expires'],
};

const BY_NORMAL: ReadonlyMap<string, ImportField> = new Map(
  (Object.entries(ALIASES) as [ImportField, readonly string[]][]).flatMap(([field, names]) => names.map((n) => [n, field] as const)),
);

/** `"Points Balance"` → `"pointsbalance"` (and `E-mail` → `email`). */
export function normalizeHeader(name: string): string {
  return name.replace(/^\uFEFF/, '').toLowerCase().replace(/[\s_\-.]+/g, '');
}

/** The canonical field a header names, or undefined for a column the importer ignores. */
export function fieldOfHeader(name: string): ImportField | undefined {
  return BY_NORMAL.get(normalizeHeader(name));
}

/** Where each known field sits in a record; the first of two columns naming one field wins. */
export type ColumnMap = Partial<Record<ImportField, { index: number; header: string }>>;

export function mapHeaders(headers: readonly string[]): ColumnMap {
  const map: ColumnMap = {};
  headers.forEach((header, index) => {
    const field = fieldOfHeader(header);
    if (field && map[field] === undefined) map[field] = { index, header };
  });
  return map;
}
