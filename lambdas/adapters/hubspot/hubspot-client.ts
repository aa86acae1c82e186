import { BasicApi, BatchApi, createConfiguration as objectsConfiguration, ServerConfiguration as ObjectsServer } from '@hubspot/api-client/lib/codegen/crm/objects/index.js';
import { Observable as ObjectsObservable } from '@hubspot/api-client/lib/codegen/crm/objects/rxjsStub.js';
import { CoreApi, createConfiguration as schemasConfiguration, ServerConfiguration as SchemasServer } from '@hubspot/api-client/lib/codegen/crm/schemas/index.js';
import { Observable as SchemasObservable } from '@hubspot/api-client/lib/codegen/crm/schemas/rxjsStub.js';
import { ApiClientConfigurator } from '@hubspot/api-client/lib/src/configuration/ApiClientConfigurator.js';
import ApiDecoratorServiceModule from '@hubspot/api-client/lib/src/services/ApiDecoratorService.js';
import { HttpClient } from '@hubspot/api-client/lib/src/services/http/HttpClient.js';
import type { IHttpOptions } from '@hubspot/api-client/lib/src/services/http/IHttpOptions.js';
import { Request } from '@hubspot/api-client/lib/src/services/http/Request.js';

/** The client's settings (token, base path), as its Request takes them. */
type ClientConfiguration = ConstructorParameters<typeof Request>[0] & object;

// A CommonJS default export: under Node it arrives wrapped in `default`, under a bundler it may not.
type DecoratorService = { getInstance(): { setDecorators(decorators: unknown[]): void } };
const ApiDecoratorService: DecoratorService =
  (ApiDecoratorServiceModule as unknown as { default?: DecoratorService }).default ?? (ApiDecoratorServiceModule as unknown as DecoratorService);

/**
 * The parts of the official `@hubspot/api-client` the adapter calls, put together the way
 * its own `Client` does (`crm.objects.basicApi`, `crm.objects.batchApi`,
 * `crm.schemas.coreApi`, `apiRequest`), with the same generated code, configuration and
 * HTTP layer.
 *
 * Why not `new Client()`: its lazy getters `require()` every API HubSpot publishes (CMS,
 * marketing, every CRM object's own module...), and a bundler follows them all. Each
 * Lambda bundle carried 4.6 MB of client it never ran, which made `cdk synth` five
 * times slower and every cold start parse it.
 */
export class HubSpotClient {
  readonly crm: { objects: { basicApi: BasicApi; batchApi: BatchApi }; schemas: { coreApi: CoreApi } };
  private readonly config: ClientConfiguration;

  constructor(config: ClientConfiguration) {
    this.config = config;
    // What `new Client()` does first: the client's retry and limiter decorators are
    // process-wide; the adapter paces and retries itself (hubspot-api.ts), so none apply.
    ApiDecoratorService.getInstance().setDecorators([]);
    const objects = objectsConfiguration(ApiClientConfigurator.getParams(config, ObjectsServer, ObjectsObservable, ObjectsObservable));
    const schemas = schemasConfiguration(ApiClientConfigurator.getParams(config, SchemasServer, SchemasObservable, SchemasObservable));
    this.crm = {
      objects: { basicApi: new BasicApi(objects), batchApi: new BatchApi(objects) },
      schemas: { coreApi: new CoreApi(schemas) },
    };
  }

  /** A request the typed APIs have no method for, sent like `Client.apiRequest`. */
  apiRequest(options: IHttpOptions): Promise<Response> {
    return HttpClient.send(new Request(this.config, options));
  }
}
