/** The KMS client and the commands the envelope tier sends (see KMSModule in dynamodb-clients.ts). */
export { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
/** The SDK's own region chain (env, shared config profile), already loaded with the client: see dynamodb-clients.ts. */
export { loadConfig, loadSharedConfigFiles, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
