// What the API answers: a request as serve's HTTP front thread hands it over,
// and where its answer goes (back to that thread, which writes it to the client).

// The front thread's contract (src/bot/http/front-protocol.ts) is the API's:
// one shape, named here as the API reads it.
export type {
  ForwardedRequest as ApiRequest,
  ForwardedResponse as ApiResponse,
} from '../../bot/http/front-protocol.ts';
