
mod class;
mod plan;
mod spec;
