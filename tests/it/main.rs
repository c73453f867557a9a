mod bind;
mod capture;
mod class;
mod dns_server;
mod examples;
mod netns;
mod plan;
mod spec;
