import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini ships no messages: without a locale every issue reads "Invalid input". English, as
// zod's classic API registers by default, unless the application chose a locale first.
if (!z.config().localeError) z.config(en());
