/** The DynamoDB client and the commands the envelope tier sends (see KMSModule in dynamodb-clients.ts). */
export {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TagResourceCommand,
} from '@aws-sdk/client-dynamodb';
