#!/usr/bin/env -S npx tsx
import { createPulseApp } from '../lib/app.ts';

// Context and environment come from the CDK CLI (cdk.json, -c key=value, the profile's account/region).
createPulseApp().app.synth();
