/** The KMS client and the commands the envelope tier sends (see KMSModule in dynamodb-clients.ts). */
export { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
