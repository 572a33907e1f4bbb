// Imported first by main.ts: React's production build unless told otherwise
// (the development build checks every element and renders several times slower).

process.env.NODE_ENV ??= 'production';
