// A module resolve hook that makes `@opentelemetry/api` unresolvable, as in an app that never
// installed it (the package is a dev dependency here, so it would otherwise always be found).
export async function resolve(specifier, context, next) {
  if (specifier === '@opentelemetry/api' || specifier.startsWith('@opentelemetry/api/')) {
    const err = new Error(`Cannot find package '${specifier}'`);
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  return next(specifier, context);
}
