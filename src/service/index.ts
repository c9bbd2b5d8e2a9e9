export { startService, type RunningService, type StartServiceOptions } from './service.js';
export { serviceApp, SERVICE_ROUTES, type ServiceAppOptions } from './app.js';
