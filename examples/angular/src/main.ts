import { provideHttpClient, withFetch } from '@angular/common/http';
import { provideBrowserGlobalErrorListeners } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { App } from './app/app';

// Zoneless (Angular's default since v21): no zone.js; signals tell Angular what to render.
bootstrapApplication(App, {
  providers: [provideBrowserGlobalErrorListeners(), provideHttpClient(withFetch())],
}).catch((error: unknown) => console.error(error));
