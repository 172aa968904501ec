import { customerFilterProperties } from './customers.js';

export const customerExportQuery = {
  type: 'object',
  properties: { ...customerFilterProperties, asOf: customerFilterProperties.lastActivityBefore },
  additionalProperties: false,
} as const;
